/* Configuration: flags, config file, precedence and every error message. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_fixture.h"
#include "core/config.h"
#include "core/log.h"

CONFIG_SUITE(config);

Test(config, defaults)
{
	cr_assert_eq(cfg.n_listeners, 2);
	cr_assert_str_eq(cfg.listeners[0], "127.0.0.1:50051");
	cr_assert_str_eq(cfg.listeners[1], "unix:/run/tapio/sensor.sock");
	cr_assert_eq(cfg.proc_cache_size, 16384);
	cr_assert_eq(cfg.queue_size, 8192);
	cr_assert_eq(cfg.obs[0].enabled, 1);
	cr_assert_eq(cfg.obs[0].rate, -1);
	cr_assert_eq(cfg.log_level, LOG_INFO);
	cr_assert_eq(cfg.net_conns, 10240);
}

Test(config, flags_set_values)
{
	cr_assert_eq(PARSE("--listen", "127.0.0.1:6000", "--rate", "process=250", "--sample",
			   "process=4", "--ringbuf", "process=1M", "--queue-size", "77",
			   "--proc-cache-size", "1000", "--node-name", "n1", "--log-level", "debug",
			   "--perf-buffer", "--net-conns", "50000"),
		     CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.n_listeners, 1);
	cr_assert_str_eq(cfg.listeners[0], "127.0.0.1:6000");
	cr_assert_eq(cfg.obs[0].rate, 250);
	cr_assert_eq(cfg.obs[0].sample, 4);
	cr_assert_eq(cfg.obs[0].ringbuf, 1 << 20);
	cr_assert_eq(cfg.queue_size, 77);
	cr_assert_eq(cfg.proc_cache_size, 1000);
	cr_assert_str_eq(cfg.node_name, "n1");
	cr_assert_eq(cfg.log_level, LOG_DEBUG);
	cr_assert_eq(cfg.force_perfbuf, 1);
	cr_assert_eq(cfg.net_conns, 50000);
}

Test(config, listen_repeats_append)
{
	cr_assert_eq(PARSE("--listen", "[::1]:7000", "--listen", "unix:/tmp/x.sock"), CONFIG_OK);
	cr_assert_eq(cfg.n_listeners, 2);
	cr_assert_str_eq(cfg.listeners[0], "[::1]:7000");
	cr_assert_str_eq(cfg.listeners[1], "unix:/tmp/x.sock");
}

struct bad_case {
	const char *flag, *value, *message;
};

Test(config, bad_values_name_the_flag)
{
	static const struct bad_case cases[] = {
		{"--listen", "nohost", "--listen nohost: expected HOST:PORT or unix:/PATH"},
		{"--listen", "h:0", "--listen h:0: port must be 1-65535"},
		{"--listen", "h:70000", "--listen h:70000: port must be 1-65535"},
		{"--listen", "unix:rel", "--listen unix:rel: a unix socket needs an absolute path"},
		{"--listen", "[::1:80", "--listen [::1:80: IPv6 address must be [ADDR]:PORT"},
		{"--rate", "process", "--rate process: expected OBSERVER=VALUE"},
		{"--rate", "nope=5", "--rate nope=5: unknown observer 'nope'"},
		{"--rate", "process=-1",
		 "--rate process=-1: expected events/s 0-10000000 (0 = unlimited)"},
		{"--sample", "process=0", "--sample process=0: expected N 1-1000000 (keep 1 of N)"},
		{"--ringbuf", "process=3000",
		 "--ringbuf process=3000: expected a power of two from 4K to 1024M (e.g. 256K)"},
		{"--ringbuf", "process=12Q",
		 "--ringbuf process=12Q: expected a power of two from 4K to 1024M (e.g. 256K)"},
		{"--queue-size", "0", "--queue-size 0: expected an integer 1-1048576"},
		{"--proc-cache-size", "x", "--proc-cache-size x: expected an integer 16-4194304"},
		{"--log-level", "loud", "--log-level loud: expected error, warn, info or debug"},
		{"--observers", "process,bogus", "--observers: unknown observer 'bogus'"},
		{"--node-name", "", "--node-name: must not be empty"},
		{"--memory-alloc-duty", "0",
		 "--memory-alloc-duty 0: expected a percentage 0.01-100 (at most three decimals)"},
		{"--memory-alloc-duty", "0.001",
		 "--memory-alloc-duty 0.001: expected a percentage 0.01-100 (at most three "
		 "decimals)"},
		{"--memory-alloc-duty", "100.5",
		 "--memory-alloc-duty 100.5: expected a percentage 0.01-100 (at most three "
		 "decimals)"},
		{"--memory-alloc-duty", "1.2345",
		 "--memory-alloc-duty 1.2345: expected a percentage 0.01-100 (at most three "
		 "decimals)"},
		{"--memory-alloc-duty", ".5",
		 "--memory-alloc-duty .5: expected a percentage 0.01-100 (at most three decimals)"},
		{"--memory-alloc-duty", "5.",
		 "--memory-alloc-duty 5.: expected a percentage 0.01-100 (at most three decimals)"},
		{"--memory-alloc-duty", "1e-2",
		 "--memory-alloc-duty 1e-2: expected a percentage 0.01-100 (at most three "
		 "decimals)"},
		{"--memory-alloc-duty", "99999999999999999999",
		 "--memory-alloc-duty 99999999999999999999: expected a percentage 0.01-100 (at "
		 "most "
		 "three decimals)"},
		{"--memory-alloc-window", "5",
		 "--memory-alloc-window 5: expected an integer 10-60000"},
		{"--net-conns", "0", "--net-conns 0: expected an integer 1-1048576"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_free(&cfg);
		config_init(&cfg);
		cr_assert_eq(PARSE(cases[i].flag, cases[i].value), CONFIG_ERROR, "%s %s",
			     cases[i].flag, cases[i].value);
		cr_assert_str_eq(err, cases[i].message);
	}
}

Test(config, allocation_duty_is_a_percentage_with_decimals)
{
	static const struct {
		const char *v;
		uint32_t milli;
	} ok[] = {{"100", 100000}, {"12.5", 12500}, {"0.1", 100},
		  {"0.01", 10},	   {"1.25", 1250},  {"007", 7000}};

	cr_assert_eq(cfg.mem_alloc_duty_milli, 100000, "default: always attached");
	cr_assert_eq(cfg.mem_alloc_window_ms, 100);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(PARSE("--memory-alloc-duty", ok[i].v), CONFIG_OK, "%s: %s", ok[i].v,
			     err);
		cr_assert_eq(cfg.mem_alloc_duty_milli, ok[i].milli, "%s", ok[i].v);
	}
	cr_assert_eq(PARSE("--memory-alloc-window", "250"), CONFIG_OK);
	cr_assert_eq(cfg.mem_alloc_window_ms, 250);
}

Test(config, unknown_flag_and_missing_value)
{
	cr_assert_eq(PARSE("--bogus"), CONFIG_ERROR);
	cr_assert_str_eq(err, "unknown flag '--bogus' (see --help)");
	config_free(&cfg);
	config_init(&cfg);
	cr_assert_eq(PARSE("--rate"), CONFIG_ERROR);
	cr_assert_str_eq(err, "flag '--rate' needs a value (see --help)");
	config_free(&cfg);
	config_init(&cfg);
	cr_assert_eq(PARSE("stray"), CONFIG_ERROR);
	cr_assert_str_eq(err, "unexpected argument 'stray' (see --help)");
}

Test(config, help_and_version_exit)
{
	cr_redirect_stdout();
	cr_assert_eq(PARSE("--version"), CONFIG_EXIT);
	cr_assert_eq(PARSE("--help"), CONFIG_EXIT);
}

Test(config, file_then_flags_override)
{
	char *path = write_file("# comment\n\nlisten = 127.0.0.1:7001\nlisten=unix:/tmp/a.sock\n"
				"rate = process=5\n  queue-size = 9  \nperf-buffer = true\n");

	cr_assert_eq(PARSE("--config", path, "--rate", "process=6"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.n_listeners, 2);
	cr_assert_str_eq(cfg.listeners[0], "127.0.0.1:7001");
	cr_assert_str_eq(cfg.listeners[1], "unix:/tmp/a.sock");
	cr_assert_eq(cfg.obs[0].rate, 6);
	cr_assert_eq(cfg.queue_size, 9);
	cr_assert_eq(cfg.force_perfbuf, 1);
	unlink(path);
}

Test(config, flag_listeners_replace_file_listeners)
{
	char *path = write_file("listen = 127.0.0.1:7001\n");

	cr_assert_eq(PARSE("--config", path, "--listen", "127.0.0.1:7002"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.n_listeners, 1);
	cr_assert_str_eq(cfg.listeners[0], "127.0.0.1:7002");
	unlink(path);
}

Test(config, malformed_file_names_file_and_line)
{
	char expect[600];
	char *path = write_file("listen = 127.0.0.1:7001\nthis line is wrong\n");

	cr_assert_eq(PARSE("--config", path), CONFIG_ERROR);
	snprintf(expect, sizeof(expect), "config %s:2: expected 'name = value'", path);
	cr_assert_str_eq(err, expect);
	unlink(path);

	config_free(&cfg);
	config_init(&cfg);
	path = write_file("colour = blue\n");
	cr_assert_eq(PARSE("--config", path), CONFIG_ERROR);
	snprintf(expect, sizeof(expect), "config %s:1: unknown setting 'colour'", path);
	cr_assert_str_eq(err, expect);
	unlink(path);

	config_free(&cfg);
	config_init(&cfg);
	path = write_file("queue-size = lots\n");
	cr_assert_eq(PARSE("--config", path), CONFIG_ERROR);
	snprintf(expect, sizeof(expect),
		 "config %s:1: --queue-size lots: expected an integer 1-1048576", path);
	cr_assert_str_eq(err, expect);
	unlink(path);

	config_free(&cfg);
	config_init(&cfg);
	path = write_file("config = /etc/other\n");
	cr_assert_eq(PARSE("--config", path), CONFIG_ERROR);
	snprintf(expect, sizeof(expect),
		 "config %s:1: config: a config file cannot name another one", path);
	cr_assert_str_eq(err, expect);
	unlink(path);
}

Test(config, missing_config_file)
{
	cr_assert_eq(PARSE("--config", "/nonexistent/tapio.conf"), CONFIG_ERROR);
	cr_assert_str_eq(err, "config /nonexistent/tapio.conf: No such file or directory");
}

Test(config, validate_btf)
{
	cr_assert_eq(PARSE("--btf", "/nonexistent.btf"), CONFIG_OK);
	cr_assert_eq(config_validate(&cfg, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "BTF file /nonexistent.btf: No such file or directory");

	config_free(&cfg);
	config_init(&cfg);
	cr_assert_eq(PARSE("--btf", write_file("not btf\n")), CONFIG_OK);
	cr_assert_eq(config_validate(&cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not a valid BTF or ELF file with .BTF"), "%s", err);

	config_free(&cfg);
	config_init(&cfg);
	cr_assert_eq(config_validate(&cfg, err, sizeof(err)), 0, "%s", err); /* kernel BTF */
}

Test(config, sizes)
{
	cr_assert_eq(config_parse_size("4096"), 4096);
	cr_assert_eq(config_parse_size("256K"), 256 * 1024);
	cr_assert_eq(config_parse_size("2m"), 2 * 1024 * 1024);
	cr_assert_eq(config_parse_size(""), -1);
	cr_assert_eq(config_parse_size("K"), -1);
	cr_assert_eq(config_parse_size("12KB"), -1);
	cr_assert_eq(config_parse_size("99999999999999999999"), -1);
}
