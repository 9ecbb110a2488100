/* net_reasons.h - the running kernel's names of packet drop reasons.
 *
 * enum skb_drop_reason changes between kernels (values move as reasons are added), so
 * names are read from the kernel's own BTF (or the --btf file), never compiled in. Owns
 * the value -> name table, names without the SKB_DROP_REASON_ / SKB_ prefix.
 */
#ifndef TAPIO_NET_REASONS_H
#define TAPIO_NET_REASONS_H

#include <stdint.h>

struct net_reason {
	uint32_t value;
	char *name;
};

struct net_reasons {
	struct net_reason *v;
	uint32_t n;
};

/* Loads the table from a BTF file (raw or ELF), or the kernel's when path is NULL or "".
 * Returns the number of reasons (0 when the kernel has none: before 5.17), or a negative
 * errno. */
int net_reasons_load(struct net_reasons *r, const char *btf_path);
/* The name of value, or NULL when the kernel has no such reason. */
const char *net_reasons_name(const struct net_reasons *r, uint32_t value);
void net_reasons_free(struct net_reasons *r);

#endif
