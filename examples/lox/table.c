/* table.c: the hash table's updates (lookups are inline in table.h).
 *
 *   find_entry    the slot for a key (or the first tombstone before it)
 *   grow          a new entries array, filled through the barrier, then
 *                 stored into the table through the barrier
 *   table_set / table_delete / table_add_all
 *
 * Growing allocates: the old array stays reachable through the table
 * until the new one replaces it, and the key and value being inserted are
 * the caller's (on the VM stack or in C locals, both roots). */
#include "table.h"

#define TABLE_MAX_LOAD_NUM 3
#define TABLE_MAX_LOAD_DEN 4

static Entry* find_entry(Entry* entries, int capacity, const ObjString* key) {
  const uint32_t mask = (uint32_t)capacity - 1;
  Entry* tombstone = NULL;
  for (uint32_t i = key->hash & mask;; i = (i + 1) & mask) {
    Entry* e = &entries[i];
    if (e->key == key) return e;
    if (e->key == NULL) {
      if (e->value == 0) return tombstone != NULL ? tombstone : e;
      if (tombstone == NULL) tombstone = e;
    }
  }
}

static void grow(Table* t, int capacity) {
  Entry* entries = alloc_entries(capacity); /* zeroed: all empty */
  int count = 0;
  for (int i = 0; i < t->capacity; i++) {
    const Entry* e = &t->entries[i];
    if (e->key == NULL) continue;
    Entry* dest = find_entry(entries, capacity, e->key);
    set_ptr(&dest->key, e->key);
    set_value(&dest->value, e->value);
    count++;
  }
  set_ptr(&t->entries, entries);
  t->capacity = capacity;
  t->count = count;
}

bool table_set(Table* t, ObjString* key, Value value) {
  if ((t->count + 1) * TABLE_MAX_LOAD_DEN > t->capacity * TABLE_MAX_LOAD_NUM) {
    grow(t, t->capacity < 8 ? 8 : t->capacity * 2);
  }
  Entry* e = find_entry(t->entries, t->capacity, key);
  const bool is_new = e->key == NULL;
  if (is_new && e->value == 0) t->count++;
  if (is_new) set_ptr(&e->key, key);
  set_value(&e->value, value);
  return is_new;
}

bool table_delete(Table* t, const ObjString* key) {
  if (t->count == 0) return false;
  Entry* e = find_entry(t->entries, t->capacity, key);
  if (e->key == NULL) return false;
  set_ptr(&e->key, NULL);
  set_value(&e->value, TRUE_VAL); /* a tombstone */
  return true;
}

void table_add_all(const Table* from, Table* to) {
  for (int i = 0; i < from->capacity; i++) {
    const Entry* e = &from->entries[i];
    if (e->key != NULL) table_set(to, e->key, e->value);
  }
}
