// Prints alloc/size_classes.cc. From the repository root:
//
//   bazel run //alloc:mksizeclasses > alloc/size_classes.cc
#include <cstdio>
#include <string>

#include "alloc/size_class_gen.h"

int main() {
  std::string text = gcheap::internal::RenderSizeClassesCc(
      gcheap::internal::GenerateSizeClasses());
  if (fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
      fflush(stdout) != 0) {
    perror("mksizeclasses: write");
    return 1;
  }
  return 0;
}
