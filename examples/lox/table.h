/* table.h: hash tables keyed by interned strings (globals, methods,
 * fields). Open addressing, linear probing, tombstones, as in the book.
 * The entries array is a conservative gcheap array; every store into it,
 * and of the array pointer into its owner, goes through the barrier. A
 * Table lives inside a heap object (class, instance) or inside the VM
 * (globals), whose root callback reports the array. */
#ifndef LOX_TABLE_H_
#define LOX_TABLE_H_

#include "value.h"

/* The index of key's entry, or -1 if absent. */
static inline int table_find(const Table* t, const ObjString* key) {
  if (t->count == 0) return -1;
  const uint32_t mask = (uint32_t)t->capacity - 1;
  for (uint32_t i = key->hash & mask;; i = (i + 1) & mask) {
    const Entry* e = &t->entries[i];
    if (e->key == key) return (int)i;
    if (e->key == NULL && e->value == 0) return -1;
  }
}

/* The value for key, into *value; false if absent. */
static inline bool table_get(const Table* t, const ObjString* key,
                             Value* value) {
  const int i = table_find(t, key);
  if (i < 0) return false;
  *value = t->entries[i].value;
  return true;
}

/* table_get, trying entry *hint first (a guess kept in the bytecode:
 * instances of one class that set their fields in the same order keep
 * each in the same entry); a hit elsewhere updates the hint. */
static inline bool table_get_hinted(const Table* t, const ObjString* key,
                                    uint8_t* hint, Value* value) {
  const uint32_t h = *hint;
  if (h < (uint32_t)t->capacity && t->entries[h].key == key) {
    *value = t->entries[h].value;
    return true;
  }
  const int i = table_find(t, key);
  if (i < 0) return false;
  if (i <= UINT8_MAX) *hint = (uint8_t)i;
  *value = t->entries[i].value;
  return true;
}

/* Sets key to value; true if key was new. */
bool table_set(Table* t, ObjString* key, Value value);
/* Removes key; true if it was there. */
bool table_delete(Table* t, const ObjString* key);
/* Copies every entry of from into to (inheritance). */
void table_add_all(const Table* from, Table* to);

#endif /* LOX_TABLE_H_ */
