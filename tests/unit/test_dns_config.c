/* The DNS observer's settings: --dns-ports, --dns-timeout, --dns-sample-threshold from
 * flags and a config file, their defaults, every rejection, and the observer's per-
 * observer defaults (the seed's rate 1000/s, 1:10 sampling, MEDIUM ring buffer). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config_fixture.h"
#include "core/config.h"
#include "core/observer.h"
#include "dns.h"

extern const struct observer_ops dns_observer;

CONFIG_SUITE(dns_config);

Test(dns_config, defaults)
{
	cr_assert_eq(cfg.n_dns_ports, 1);
	cr_assert_eq(cfg.dns_ports[0], 53);
	cr_assert_eq(cfg.dns_timeout_ms, 5000);
	cr_assert_eq(cfg.dns_sample_threshold, 250);
	cr_assert_eq(dns_observer.default_rate, 1000);
	cr_assert_eq(dns_observer.default_sample, 10);
	cr_assert_eq(dns_observer.default_ringbuf, TP_RINGBUF_MEDIUM);
	cr_assert_geq(observer_index("dns"), 0);
}

Test(dns_config, flags_set_values)
{
	cr_assert_eq(PARSE("--dns-ports", "53,5353,853", "--dns-timeout", "1500",
			   "--dns-sample-threshold", "0"),
		     CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.n_dns_ports, 3);
	cr_assert_eq(cfg.dns_ports[0], 53);
	cr_assert_eq(cfg.dns_ports[1], 5353);
	cr_assert_eq(cfg.dns_ports[2], 853);
	cr_assert_eq(cfg.dns_timeout_ms, 1500);
	cr_assert_eq(cfg.dns_sample_threshold, 0);
}

Test(dns_config, sixteen_ports_and_no_more)
{
	const char *sixteen = "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16";
	char seventeen[64];

	cr_assert_eq(PARSE("--dns-ports", sixteen), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.n_dns_ports, DNS_MAX_PORTS);
	cr_assert_eq(cfg.dns_ports[15], 16);
	snprintf(seventeen, sizeof(seventeen), "%s,17", sixteen);
	cr_assert_eq(PARSE("--dns-ports", seventeen), CONFIG_ERROR);
	cr_assert(strstr(err, "at most 16 ports"), "%s", err);
}

Test(dns_config, rejections_name_the_flag)
{
	static const struct {
		const char *flag, *value, *message;
	} bad[] = {
		{"--dns-ports", "0", "'0' is not a port 1-65535"},
		{"--dns-ports", "65536", "'65536' is not a port 1-65535"},
		{"--dns-ports", "53,x", "'x' is not a port 1-65535"},
		{"--dns-ports", ",", "expected ports like 53,5353"},
		{"--dns-timeout", "9", "--dns-timeout 9: expected an integer 10-600000"},
		{"--dns-timeout", "1s", "--dns-timeout 1s: expected an integer"},
		{"--dns-sample-threshold", "-1", "--dns-sample-threshold -1: expected an integer"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_free(&cfg);
		config_init(&cfg);
		cr_assert_eq(PARSE(bad[i].flag, bad[i].value), CONFIG_ERROR, "%s %s accepted",
			     bad[i].flag, bad[i].value);
		cr_assert(strstr(err, bad[i].message), "%s %s: \"%s\"", bad[i].flag, bad[i].value,
			  err);
	}
}

Test(dns_config, config_file_then_flags_override)
{
	char *path = write_file("dns-ports = 5353\ndns-timeout = 700\ndns-sample-threshold = 99\n");

	cr_assert_eq(PARSE("--config", path, "--dns-ports", "53,54"), CONFIG_OK, "%s", err);
	unlink(path);
	cr_assert_eq(cfg.n_dns_ports, 2);
	cr_assert_eq(cfg.dns_ports[1], 54);
	cr_assert_eq(cfg.dns_timeout_ms, 700);
	cr_assert_eq(cfg.dns_sample_threshold, 99);
}
