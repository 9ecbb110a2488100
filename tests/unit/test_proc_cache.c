/* test_proc_cache.c - the pid-keyed LRU process cache: eviction order, reuse, removal,
 * counters, string ownership, and a long random run checked against a reference model. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "enrich/proc_cache.h"

static struct pcache_stats stats_of(const struct pcache *c)
{
	struct pcache_stats s;

	pcache_get_stats(c, &s);
	return s;
}

/* Inserts pid and tags the entry so later lookups can tell it is the same data. */
static struct pcache_entry *insert_tagged(struct pcache *c, uint32_t pid)
{
	struct pcache_entry *e = pcache_insert(c, pid);

	cr_assert_not_null(e);
	e->ppid = pid + 1000;
	return e;
}

Test(proc_cache, rejects_zero_capacity)
{
	cr_assert_null(pcache_new(0));
}

Test(proc_cache, new_cache_is_empty)
{
	struct pcache *c = pcache_new(10);
	struct pcache_stats s;

	cr_assert_not_null(c);
	s = stats_of(c);
	cr_assert_eq(s.size, 0);
	cr_assert_eq(s.capacity, 10);
	cr_assert_eq(s.hits, 0);
	cr_assert_eq(s.misses, 0);
	cr_assert_eq(s.evictions, 0);
	cr_assert_null(pcache_lookup(c, 1));
	cr_assert_eq(stats_of(c).misses, 1);
	pcache_free(c);
}

Test(proc_cache, free_null_is_a_no_op)
{
	pcache_free(NULL);
}

Test(proc_cache, insert_gives_a_reset_entry)
{
	struct pcache *c = pcache_new(4);
	struct pcache_entry *e = pcache_insert(c, 42);

	cr_assert_not_null(e);
	cr_assert_eq(e->pid, 42);
	cr_assert_eq(e->ppid, 0);
	cr_assert_eq(e->uid, 0);
	cr_assert_eq(e->gid, 0);
	cr_assert_eq(e->start_ns, 0);
	cr_assert_eq(e->cgroup_id, 0);
	cr_assert_eq(e->flags, 0);
	cr_assert_str_eq(e->comm, "");
	cr_assert_not_null(e->binary);
	cr_assert_str_eq(e->binary, "");
	cr_assert_not_null(e->args);
	cr_assert_eq(e->args_len, 0);
	cr_assert_eq(pcache_lookup(c, 42), e);
	cr_assert_eq(stats_of(c).size, 1);
	pcache_free(c);
}

Test(proc_cache, reinsert_reuses_and_resets_the_entry)
{
	struct pcache *c = pcache_new(4);
	struct pcache_entry *e = pcache_insert(c, 7), *again;

	e->ppid = 1;
	e->uid = 1000;
	e->gid = 1000;
	e->start_ns = 123;
	e->cgroup_id = 99;
	e->flags = PCACHE_F_EXITED | PCACHE_F_PROCFS;
	strcpy(e->comm, "bash");
	cr_assert_eq(pcache_set_binary(e, "/bin/bash"), 0);
	cr_assert_eq(pcache_set_args(e, "bash\0-l", 8), 0);
	pcache_insert(c, 8);

	again = pcache_insert(c, 7);
	cr_assert_eq(again, e);
	cr_assert_eq(again->pid, 7);
	cr_assert_eq(again->ppid, 0);
	cr_assert_eq(again->uid, 0);
	cr_assert_eq(again->gid, 0);
	cr_assert_eq(again->start_ns, 0);
	cr_assert_eq(again->cgroup_id, 0);
	cr_assert_eq(again->flags, 0);
	cr_assert_str_eq(again->comm, "");
	cr_assert_str_eq(again->binary, "");
	cr_assert_eq(again->args_len, 0);
	cr_assert_eq(stats_of(c).size, 2);
	cr_assert_eq(stats_of(c).evictions, 0);
	/* pid 8 is still there, untouched */
	cr_assert_not_null(pcache_peek(c, 8));
	pcache_free(c);
}

Test(proc_cache, evicts_least_recently_inserted)
{
	struct pcache *c = pcache_new(3);

	insert_tagged(c, 1);
	insert_tagged(c, 2);
	insert_tagged(c, 3);
	insert_tagged(c, 4);
	cr_assert_null(pcache_peek(c, 1));
	cr_assert_not_null(pcache_peek(c, 2));
	cr_assert_not_null(pcache_peek(c, 3));
	cr_assert_not_null(pcache_peek(c, 4));
	cr_assert_eq(stats_of(c).size, 3);
	cr_assert_eq(stats_of(c).evictions, 1);
	pcache_free(c);
}

Test(proc_cache, lookup_protects_from_eviction)
{
	struct pcache *c = pcache_new(3);

	insert_tagged(c, 1);
	insert_tagged(c, 2);
	insert_tagged(c, 3);
	cr_assert_not_null(pcache_lookup(c, 1)); /* order now 2, 3, 1 (LRU first) */
	insert_tagged(c, 4);			 /* evicts 2 */
	cr_assert_null(pcache_peek(c, 2));
	insert_tagged(c, 5); /* evicts 3 */
	cr_assert_null(pcache_peek(c, 3));
	cr_assert_eq(pcache_peek(c, 1)->ppid, 1001);
	cr_assert_eq(pcache_peek(c, 4)->ppid, 1004);
	cr_assert_eq(pcache_peek(c, 5)->ppid, 1005);
	insert_tagged(c, 6); /* evicts 1 */
	cr_assert_null(pcache_peek(c, 1));
	cr_assert_eq(stats_of(c).evictions, 3);
	pcache_free(c);
}

Test(proc_cache, reinsert_makes_most_recently_used)
{
	struct pcache *c = pcache_new(2);

	insert_tagged(c, 1);
	insert_tagged(c, 2);
	insert_tagged(c, 1); /* order 2, 1 */
	insert_tagged(c, 3); /* evicts 2 */
	cr_assert_null(pcache_peek(c, 2));
	cr_assert_not_null(pcache_peek(c, 1));
	cr_assert_not_null(pcache_peek(c, 3));
	pcache_free(c);
}

Test(proc_cache, peek_neither_reorders_nor_counts)
{
	struct pcache *c = pcache_new(2);
	struct pcache_stats s;

	insert_tagged(c, 1);
	insert_tagged(c, 2);
	cr_assert_eq(pcache_peek(c, 1)->ppid, 1001);
	cr_assert_null(pcache_peek(c, 9));
	insert_tagged(c, 3); /* 1 is still the least recently used */
	cr_assert_null(pcache_peek(c, 1));
	cr_assert_not_null(pcache_peek(c, 2));
	s = stats_of(c);
	cr_assert_eq(s.hits, 0);
	cr_assert_eq(s.misses, 0);
	pcache_free(c);
}

Test(proc_cache, counts_hits_misses_evictions)
{
	struct pcache *c = pcache_new(2);
	struct pcache_stats s;

	insert_tagged(c, 10);
	insert_tagged(c, 20);
	pcache_lookup(c, 10);
	pcache_lookup(c, 10);
	pcache_lookup(c, 20);
	pcache_lookup(c, 30);
	insert_tagged(c, 30); /* evicts 10 */
	insert_tagged(c, 40); /* evicts 20 */
	pcache_lookup(c, 10);
	pcache_remove(c, 30);
	s = stats_of(c);
	cr_assert_eq(s.hits, 3);
	cr_assert_eq(s.misses, 2);
	cr_assert_eq(s.evictions, 2);
	cr_assert_eq(s.size, 1);
	cr_assert_eq(s.capacity, 2);
	pcache_free(c);
}

Test(proc_cache, remove_unlinks_from_hash_and_lru)
{
	struct pcache *c = pcache_new(3);

	insert_tagged(c, 1);
	insert_tagged(c, 2);
	insert_tagged(c, 3);
	pcache_remove(c, 2); /* middle of the LRU list */
	cr_assert_null(pcache_peek(c, 2));
	cr_assert_eq(stats_of(c).size, 2);
	insert_tagged(c, 4); /* room again: no eviction */
	cr_assert_eq(stats_of(c).evictions, 0);
	cr_assert_not_null(pcache_peek(c, 1));
	pcache_remove(c, 1); /* the LRU tail */
	pcache_remove(c, 4); /* the MRU head */
	cr_assert_eq(stats_of(c).size, 1);
	cr_assert_eq(pcache_peek(c, 3)->ppid, 1003);
	insert_tagged(c, 5);
	insert_tagged(c, 6);
	insert_tagged(c, 7); /* evicts 3, the only survivor of the old ones */
	cr_assert_null(pcache_peek(c, 3));
	cr_assert_eq(stats_of(c).evictions, 1);
	pcache_free(c);
}

Test(proc_cache, remove_absent_pid_changes_nothing)
{
	struct pcache *c = pcache_new(2);

	insert_tagged(c, 1);
	pcache_remove(c, 2);
	pcache_remove(c, 2);
	cr_assert_eq(stats_of(c).size, 1);
	cr_assert_not_null(pcache_peek(c, 1));
	pcache_remove(c, 1);
	pcache_remove(c, 1);
	cr_assert_eq(stats_of(c).size, 0);
	cr_assert_null(pcache_peek(c, 1));
	pcache_free(c);
}

Test(proc_cache, removed_entry_strings_are_freed)
{
	struct pcache *c = pcache_new(2);
	struct pcache_entry *e = pcache_insert(c, 5);

	/* Leaks here show up under ASan's leak check and valgrind. */
	cr_assert_eq(pcache_set_binary(e, "/usr/bin/sleep"), 0);
	cr_assert_eq(pcache_set_args(e,
				     "sleep\0"
				     "5",
				     8),
		     0);
	pcache_remove(c, 5);
	e = pcache_insert(c, 6);
	cr_assert_eq(pcache_set_binary(e, "/usr/bin/true"), 0);
	pcache_insert(c, 7);
	e = pcache_insert(c, 8); /* evicts 6 with its strings */
	cr_assert_str_eq(e->binary, "");
	cr_assert_null(pcache_peek(c, 6));
	pcache_free(c);
}

Test(proc_cache, capacity_one)
{
	struct pcache *c = pcache_new(1);
	struct pcache_entry *e;

	insert_tagged(c, 1);
	e = insert_tagged(c, 2);
	cr_assert_null(pcache_peek(c, 1));
	cr_assert_eq(pcache_lookup(c, 2), e);
	cr_assert_eq(e->ppid, 1002);
	cr_assert_eq(insert_tagged(c, 2), e); /* same pid: no eviction */
	insert_tagged(c, 3);
	cr_assert_null(pcache_peek(c, 2));
	cr_assert_eq(stats_of(c).size, 1);
	cr_assert_eq(stats_of(c).evictions, 2);
	cr_assert_eq(stats_of(c).hits, 1);
	pcache_free(c);
}

Test(proc_cache, binary_is_copied_and_replaced)
{
	struct pcache *c = pcache_new(2);
	struct pcache_entry *e = pcache_insert(c, 1);
	char src[] = "/usr/bin/first";

	cr_assert_eq(pcache_set_binary(e, src), 0);
	cr_assert_neq(e->binary, src);
	src[1] = 'X';
	cr_assert_str_eq(e->binary, "/usr/bin/first");
	cr_assert_eq(pcache_set_binary(e, "/usr/bin/second-and-longer"), 0);
	cr_assert_str_eq(e->binary, "/usr/bin/second-and-longer");
	cr_assert_eq(pcache_set_binary(e, NULL), 0);
	cr_assert_not_null(e->binary);
	cr_assert_str_eq(e->binary, "");
	cr_assert_eq(pcache_set_binary(e, "/x"), 0);
	cr_assert_str_eq(e->binary, "/x");
	pcache_free(c); /* frees "/x" */
}

Test(proc_cache, args_are_copied_with_embedded_nuls)
{
	struct pcache *c = pcache_new(2);
	struct pcache_entry *e = pcache_insert(c, 1);
	char src[] = "ls\0-l\0/tmp"; /* 10 bytes + the literal's NUL */

	cr_assert_eq(pcache_set_args(e, src, sizeof(src)), 0);
	memset(src, 'Z', sizeof(src));
	cr_assert_eq(e->args_len, 11);
	cr_assert_eq(memcmp(e->args, "ls\0-l\0/tmp", 11), 0);
	cr_assert_str_eq(e->args + 6, "/tmp");
	cr_assert_eq(pcache_set_args(e, "a", 1), 0); /* no final NUL given */
	cr_assert_eq(e->args_len, 1);
	cr_assert_str_eq(e->args, "a"); /* still terminated inside the buffer */
	cr_assert_eq(pcache_set_args(e, NULL, 0), 0);
	cr_assert_eq(e->args_len, 0);
	cr_assert_not_null(e->args);
	cr_assert_eq(e->args[0], '\0');
	cr_assert_eq(pcache_set_args(e, "x\0", 2), 0);
	cr_assert_eq(pcache_set_args(e, "ignored", 0), 0); /* len 0: empty */
	cr_assert_eq(e->args_len, 0);
	pcache_free(c);
}

Test(proc_cache, full_cache_of_odd_size_and_colliding_pids)
{
	/* 1000 entries in 1024 buckets, pids that differ only in their high bits. */
	struct pcache *c = pcache_new(1000);
	uint32_t i;

	for (i = 0; i < 1000; i++)
		insert_tagged(c, i << 16);
	cr_assert_eq(stats_of(c).size, 1000);
	for (i = 0; i < 1000; i++) {
		struct pcache_entry *e = pcache_lookup(c, i << 16);

		cr_assert_not_null(e, "pid %u", i << 16);
		cr_assert_eq(e->ppid, (i << 16) + 1000);
	}
	insert_tagged(c, 1); /* evicts pid 0, the least recently looked up */
	cr_assert_null(pcache_peek(c, 0));
	cr_assert_not_null(pcache_peek(c, 1u << 16));
	cr_assert_eq(stats_of(c).hits, 1000);
	pcache_free(c);
}

/* Reference model: pids 0..NPIDS-1, each present or not, with the time of its last use. */
#define NPIDS 200
#define CAP 64

struct model {
	int present[NPIDS];
	uint64_t used_at[NPIDS];
	uint32_t tag[NPIDS];
	uint32_t size;
	uint64_t now, hits, misses, evictions;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
	/* xorshift64*: deterministic, so a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static int model_lru(const struct model *m)
{
	int i, best = -1;

	for (i = 0; i < NPIDS; i++)
		if (m->present[i] && (best < 0 || m->used_at[i] < m->used_at[best]))
			best = i;
	return best;
}

static void model_insert(struct model *m, uint32_t pid, uint32_t tag)
{
	if (!m->present[pid] && m->size == CAP) {
		m->present[model_lru(m)] = 0;
		m->size--;
		m->evictions++;
	}
	if (!m->present[pid])
		m->size++;
	m->present[pid] = 1;
	m->used_at[pid] = ++m->now;
	m->tag[pid] = tag;
}

static void step(struct pcache *c, struct model *m, uint32_t op, uint32_t pid)
{
	struct pcache_entry *e;
	uint32_t tag;

	switch (op) {
	case 0: /* insert */
	case 1:
		tag = rng();
		e = pcache_insert(c, pid);
		cr_assert_not_null(e);
		cr_assert_eq(e->ppid, 0, "insert of %u not reset", pid);
		e->ppid = tag;
		model_insert(m, pid, tag);
		break;
	case 2: /* lookup */
	case 3:
		e = pcache_lookup(c, pid);
		cr_assert_eq(e != NULL, m->present[pid], "lookup %u", pid);
		if (e) {
			cr_assert_eq(e->pid, pid);
			cr_assert_eq(e->ppid, m->tag[pid], "pid %u has another entry's data", pid);
			m->used_at[pid] = ++m->now;
			m->hits++;
		} else {
			m->misses++;
		}
		break;
	case 4: /* peek */
		e = pcache_peek(c, pid);
		cr_assert_eq(e != NULL, m->present[pid], "peek %u", pid);
		break;
	default: /* remove */
		pcache_remove(c, pid);
		if (m->present[pid])
			m->size--;
		m->present[pid] = 0;
		break;
	}
}

Test(proc_cache, random_ops_match_reference_model)
{
	static struct model m;
	struct pcache *c = pcache_new(CAP);
	struct pcache_stats s;
	uint32_t i, pid;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < 100000; i++) {
		step(c, &m, rng() % 6, rng() % NPIDS);
		if (i % 1000 != 0)
			continue;
		for (pid = 0; pid < NPIDS; pid++)
			cr_assert_eq(pcache_peek(c, pid) != NULL, m.present[pid], "op %u pid %u", i,
				     pid);
	}
	s = stats_of(c);
	cr_assert_eq(s.size, m.size);
	cr_assert_eq(s.hits, m.hits);
	cr_assert_eq(s.misses, m.misses);
	cr_assert_eq(s.evictions, m.evictions);
	cr_assert_gt(m.evictions, 1000, "the run must exercise eviction");
	cr_assert_gt(m.hits, 1000);
	pcache_free(c);
}
