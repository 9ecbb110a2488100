/* config_fixture.h - what the configuration tests share: a struct config set to its
 * defaults before each test and freed after it, an error buffer, and PARSE(...) that
 * parses its arguments as the command line after "tapio-sensor", and write_file() for
 * config files. Include once per test file, then declare the suite with CONFIG_SUITE(name).
 */
#ifndef TAPIO_TEST_CONFIG_FIXTURE_H
#define TAPIO_TEST_CONFIG_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

static struct config cfg;
static char err[512];

static void config_setup(void)
{
	config_init(&cfg);
	err[0] = 0;
}

static void config_teardown(void)
{
	config_free(&cfg);
}

/* A config file holding text; its path stays valid until the next call. */
static inline char *write_file(const char *text)
{
	static char path[64];
	FILE *f;

	strcpy(path, "/tmp/tapio-config-XXXXXX");
	close(mkstemp(path));
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

#define CONFIG_SUITE(name) TestSuite(name, .init = config_setup, .fini = config_teardown)

#define ARGV(...) ((char **)(const char *[]){"tapio-sensor", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((const char *[]){"tapio-sensor", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(...) config_parse_args(&cfg, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), err, sizeof(err))

#endif
