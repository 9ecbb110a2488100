/* init.c - PID 1 of the kernel-matrix test guests.
 *
 * Boots a bare initramfs into something a test program can run in: mounts the pseudo
 * filesystems an eBPF sensor needs (proc, sysfs, devtmpfs, bpffs, tracefs, debugfs,
 * cgroup2) and the tmpfs a dynamically linked program expects, brings up loopback
 * (127.0.0.1/8) for tests that talk DNS or TCP to themselves, runs one command with the
 * console as its stdin/stdout/stderr, prints
 *
 *	TAPIO-GUEST-EXIT <status>
 *
 * on a line of its own (status: the exit code, or 128 + signal number), and powers the
 * machine off. The line is printed after every other process in the guest has been
 * killed, so the last such line on the console is always ours.
 *
 * The command comes from /tapio-cmd (its arguments, each terminated by a NUL byte; what
 * boot.sh appends to the initramfs, so arguments may hold any byte but NUL) or, when that
 * file is missing, from the kernel command line after "--" (the kernel splits that at
 * spaces, honouring double quotes).
 *
 * Built statically: nothing in the initramfs has to exist for init itself to run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define CMD_FILE "/tapio-cmd"
#define CMD_FILE_MAX (1024 * 1024)
#define EXIT_MARKER "TAPIO-GUEST-EXIT"
#define GUEST_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Status reported when init could not start the command at all (as a shell would). */
#define STATUS_NO_COMMAND 127

struct mount_spec {
	const char *source;
	const char *target;
	const char *fstype;
	unsigned long flags;
	const char *data;
	int required; /* without it nothing useful can run: give up */
};

/* Order matters: /sys before the filesystems mounted on its mount points. The kernel
 * provides those mount points (sys/fs/bpf, sys/kernel/tracing, ...) in sysfs itself. */
static const struct mount_spec mounts[] = {
	{"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 1},
	{"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 1},
	{"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", 1},
	{"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 1},
	{"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0},
	{"tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 0},
	{"bpf", "/sys/fs/bpf", "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700", 0},
	{"tracefs", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0},
	{"debugfs", "/sys/kernel/debug", "debugfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0},
	{"cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0},
};

/* Console output goes straight to fd 1 with one write per message, so that it is not
 * reordered against the command's own output (stdio buffers would be). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (write(STDOUT_FILENO, buf, n) < 0)
		return; /* nowhere left to report to */
}

static void power_off(void)
{
	/* The serial line is slow: let the last lines, the exit line above all, leave the
	 * tty before the machine stops. */
	tcdrain(STDOUT_FILENO);
	sync();
	reboot(RB_POWER_OFF);
	/* qemu runs with -no-reboot, so a reboot ends it too. */
	reboot(RB_AUTOBOOT);
	say("init: reboot: %s\n", strerror(errno));
	/* PID 1 exiting panics the kernel; with panic=-1 that also ends qemu. */
	_exit(1);
}

static int mount_all(void)
{
	size_t i;

	for (i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		const struct mount_spec *m = &mounts[i];

		/* The initramfs carries the top-level directories; /dev/shm exists only
		 * after devtmpfs is mounted. */
		if (mkdir(m->target, 0755) < 0 && errno != EEXIST && errno != EROFS &&
		    errno != EPERM) {
			say("init: mkdir %s: %s\n", m->target, strerror(errno));
		}
		if (mount(m->source, m->target, m->fstype, m->flags, m->data) == 0)
			continue;
		say("init: mount %s on %s: %s%s\n", m->fstype, m->target, strerror(errno),
		    m->required ? "" : " (continuing without it)");
		if (m->required)
			return -1;
	}
	return 0;
}

/* The kernel opens /dev/console (from the initramfs) for PID 1 before it runs. If that
 * failed, the node exists now on devtmpfs. */
static void ensure_console(void)
{
	int fd;

	if (fcntl(STDIN_FILENO, F_GETFD) >= 0 && fcntl(STDOUT_FILENO, F_GETFD) >= 0 &&
	    fcntl(STDERR_FILENO, F_GETFD) >= 0)
		return;
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

static int set_inet_addr(int fd, unsigned long req, const char *what, in_addr_t addr)
{
	struct ifreq ifr;
	struct sockaddr_in sin;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", sizeof("lo"));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = addr;
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	if (ioctl(fd, req, &ifr) < 0) {
		say("init: lo: set %s: %s\n", what, strerror(errno));
		return -1;
	}
	return 0;
}

/* 127.0.0.1/8 on lo, then lo up. Bringing lo up also gives it ::1 when the kernel has
 * IPv6; the kernel adds the local routes for both. */
static int loopback_up(void)
{
	struct ifreq ifr;
	int fd, ret = -1;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		say("init: lo: socket: %s\n", strerror(errno));
		return -1;
	}
	if (set_inet_addr(fd, SIOCSIFADDR, "address", htonl(INADDR_LOOPBACK)) < 0 ||
	    set_inet_addr(fd, SIOCSIFNETMASK, "netmask", htonl(IN_CLASSA_NET)) < 0)
		goto out;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", sizeof("lo"));
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		say("init: lo: get flags: %s\n", strerror(errno));
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		say("init: lo: set up: %s\n", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

/* Reads CMD_FILE into a NULL-terminated argv. Returns NULL when the file is absent;
 * exits the guest through *bad on a malformed file. */
static char **read_cmd_file(int *bad)
{
	static char buf[CMD_FILE_MAX];
	char **argv;
	size_t len = 0, argc = 0, i, j;
	ssize_t n;
	int fd;

	*bad = 0;
	fd = open(CMD_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT) {
			say("init: open %s: %s\n", CMD_FILE, strerror(errno));
			*bad = 1;
		}
		return NULL;
	}
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0) {
		len += n;
		if (len == sizeof(buf))
			break;
	}
	close(fd);
	if (n < 0) {
		say("init: read %s: %s\n", CMD_FILE, strerror(errno));
		*bad = 1;
		return NULL;
	}
	if (len == sizeof(buf) || len == 0 || buf[len - 1] != '\0') {
		say("init: %s: %s\n", CMD_FILE,
		    len == sizeof(buf) ? "too large" : "empty or not NUL-terminated");
		*bad = 1;
		return NULL;
	}
	for (i = 0; i < len; i++)
		argc += buf[i] == '\0';
	argv = calloc(argc + 1, sizeof(*argv));
	if (!argv) {
		say("init: out of memory\n");
		*bad = 1;
		return NULL;
	}
	for (i = 0, j = 0; j < argc; j++) {
		argv[j] = buf + i;
		i += strlen(buf + i) + 1;
	}
	return argv;
}

static void print_command(char **argv)
{
	char line[1024];
	size_t off = 0;
	int i, n;

	line[0] = '\0';
	for (i = 0; argv[i] && off < sizeof(line); i++) {
		n = snprintf(line + off, sizeof(line) - off, strchr(argv[i], ' ') ? " '%s'" : " %s",
			     argv[i]);
		if (n < 0)
			break;
		off += n;
	}
	say("init: running:%s\n", line);
}

static pid_t start_command(char **argv)
{
	pid_t pid = fork();

	if (pid < 0) {
		say("init: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0)
		return pid;
	/* Own session with the console as controlling terminal, as after a login:
	 * programs that open /dev/tty or use job control behave. */
	if (setsid() >= 0)
		ioctl(STDIN_FILENO, TIOCSCTTY, 1);
	execvp(argv[0], argv);
	say("init: exec %s: %s\n", argv[0], strerror(errno));
	_exit(STATUS_NO_COMMAND);
}

/* Waits for `child`, reaping every orphan that is re-parented to us meanwhile. */
static int wait_command(pid_t child)
{
	int st;
	pid_t w;

	for (;;) {
		w = waitpid(-1, &st, 0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			say("init: waitpid: %s\n", strerror(errno));
			return STATUS_NO_COMMAND;
		}
		if (w == child)
			break;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	say("init: command killed by signal %d (%s)\n", WTERMSIG(st), strsignal(WTERMSIG(st)));
	return 128 + WTERMSIG(st);
}

/* Whatever the command left running must not print after the exit line. */
static void kill_everything(void)
{
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	struct utsname un;
	char **cmd;
	int status = STATUS_NO_COMMAND, bad;
	pid_t child;

	/* This program powers the machine off: never let it do so outside its guest. */
	if (getpid() != 1) {
		fprintf(stderr, "init: not PID 1; this is the test guest's /init and it "
				"powers the machine off\n");
		return 2;
	}
	ensure_console();
	if (mount_all() < 0)
		goto out;
	ensure_console();
	loopback_up();

	setenv("PATH", GUEST_PATH, 1);
	setenv("HOME", "/", 1);
	setenv("TMPDIR", "/tmp", 1);
	if (chdir("/") < 0)
		say("init: chdir /: %s\n", strerror(errno));

	cmd = read_cmd_file(&bad);
	if (bad)
		goto out;
	if (!cmd && argc > 1)
		cmd = argv + 1;
	if (!cmd) {
		say("init: no command: neither %s nor arguments after \"--\" on the kernel "
		    "command line\n",
		    CMD_FILE);
		goto out;
	}
	if (uname(&un) == 0)
		say("init: Linux %s\n", un.release);
	print_command(cmd);
	child = start_command(cmd);
	if (child > 0)
		status = wait_command(child);
out:
	kill_everything();
	/* Leading newline: the command's last line may lack one. */
	say("\n" EXIT_MARKER " %d\n", status);
	power_off();
	return 0;
}
