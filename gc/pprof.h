// The pprof encoding: a heap profile (gc/mem_profile.h's records) as a
// gzipped profile.proto, the format `go tool pprof` and other pprof
// readers load, with Go's heap profile's sample types: alloc_objects,
// alloc_space, inuse_objects, inuse_space (the last is pprof's default).
//
//   samples    one per bucket: its call stack, the four values scaled
//              from sampled counts to estimates, as Go's scaleHeapSample
//              (an object of s bytes is sampled with probability
//              1 - exp(-s/rate)), and a "bytes" label (the slot size)
//   locations  one per return address (address - 1: the call
//              instruction), in the mapping that holds it, with the
//              function that holds it and its source line
//              (gc/symbolize.h): `go tool pprof` symbolizes only Go
//              binaries, so the profile names them
//   mappings   the executable segments of the program and its libraries
//   drop       drop_frames names gcheap's own functions, so a stack that
//              still holds runtime frames starts at the program's
//
// The protobuf wire format and the gzip container are written by hand
// (both are small: varints and length-delimited fields; stored deflate
// blocks with a CRC-32), so the library needs no compression library;
// tests/pprof_test.sh checks the result against `go tool pprof`.
#ifndef GCHEAP_GC_PPROF_H_
#define GCHEAP_GC_PPROF_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gc/mem_profile.h"

namespace gcheap::internal {

// The profile of `records`, sampled at `rate` bytes, gzipped.
std::string EncodeHeapProfile(const std::vector<MemProfileRecord>& records,
                              int64_t rate);

// Parts, for tests: the uncompressed profile.proto message, and a gzip
// member holding `data` (stored blocks).
std::string EncodeHeapProfileProto(const std::vector<MemProfileRecord>& records,
                                   int64_t rate);
std::string Gzip(const std::string& data);
uint32_t Crc32(const void* data, size_t n);

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_PPROF_H_
