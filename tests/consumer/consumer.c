/* A C99 program outside gcheap's tree: built against an installed gcheap
 * (find_package or pkg-config) by tests/consumer_test.sh. */
#include <gcheap/gcheap_c.h>
#include <stddef.h>
#include <stdio.h>

typedef struct Node {
  struct Node* next;
  long value;
} Node;

int main(void) {
  static const size_t kNodePointers[] = {offsetof(Node, next)};
  gch_heap* heap = gch_heap_new(NULL);
  gch_mutator* m = gch_attach(heap);
  const gch_type* node_type =
      gch_type_pointers("Node", sizeof(Node), kNodePointers, 1);
  gch_persistent* list = gch_persistent_new(heap, NULL);
  gch_memstats s;
  long sum = 0;
  long i;
  Node* n;
  for (i = 1; i <= 100500; i++) {
    n = (Node*)gch_alloc(m, node_type);
    n->value = i;
    gch_write_barrier((void**)&n->next, gch_persistent_get(list));
    gch_persistent_set(list, n);
    if (i % 1000 == 0) gch_persistent_set(list, NULL); /* garbage */
  }
  gch_collect(heap);
  for (n = (Node*)gch_persistent_get(list); n != NULL; n = n->next) {
    sum += n->value;
  }
  gch_persistent_free(list);
  gch_collect(heap);
  gch_read_memstats(heap, &s);
  gch_detach(heap);
  gch_heap_free(heap);
  printf("c consumer: sum=%ld mallocs=%llu frees=%llu numgc=%u\n", sum,
         (unsigned long long)s.mallocs, (unsigned long long)s.frees,
         (unsigned)s.num_gc);
  /* The last 500 nodes stay: 100001 + ... + 100500. The stack is scanned
   * conservatively, so a stale word left in a register or a dead stack slot
   * may keep one dropped chain (at most 1000 nodes) alive: allow for two. */
  return sum == 500L * (100001 + 100500) / 2 && s.mallocs >= 100500 &&
                 s.frees >= 100500 - 2000 && s.num_gc >= 2
             ? 0
             : 1;
}
