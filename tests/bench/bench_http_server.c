/* bench_http_server.c - a small, fast HTTP/1.1 server on 127.0.0.1 for the network
 * observer's benchmark (bench_network.sh): one epoll thread, keep-alive, every request
 * answered "200 OK" with a 13-byte body; "Connection: close" requests get their response
 * and then the connection is closed (so wrk measures connections/s too). Request bodies
 * are not supported (wrk sends none). Runs until killed.
 *
 *   bench_http_server PORT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 64
#define BUF 8192

static const char response[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			       "Content-Length: 13\r\n\r\nhello, tapio\n";

struct conn {
	int fd;
	size_t have;
	char buf[BUF];
};

static int listen_on(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1024) < 0) {
		perror("bench_http_server: listen");
		exit(1);
	}
	return fd;
}

static void drop(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* Answers every complete request in the buffer; returns -1 to close. */
static int serve(struct conn *c)
{
	char *end;

	while ((end = memmem(c->buf, c->have, "\r\n\r\n", 4)) != NULL) {
		size_t len = (size_t)(end - c->buf) + 4;
		int close_after = memmem(c->buf, len, "Connection: close", 17) != NULL;

		if (write(c->fd, response, sizeof(response) - 1) != (ssize_t)sizeof(response) - 1)
			return -1;
		memmove(c->buf, c->buf + len, c->have - len);
		c->have -= len;
		if (close_after)
			return -1;
	}
	return c->have == BUF ? -1 : 0;
}

static void on_readable(int ep, struct conn *c)
{
	for (;;) {
		ssize_t n = read(c->fd, c->buf + c->have, BUF - c->have);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			drop(ep, c);
			return;
		}
		if (n < 0)
			return;
		c->have += (size_t)n;
		if (serve(c) < 0) {
			drop(ep, c);
			return;
		}
	}
}

static void on_accept(int ep, int lfd)
{
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		struct conn *c = calloc(1, sizeof(*c));
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

		if (!c || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
	}
}

int main(int argc, char **argv)
{
	struct epoll_event evs[MAX_EVENTS], lev = {.events = EPOLLIN};
	int lfd, ep;

	if (argc != 2) {
		fprintf(stderr, "usage: bench_http_server PORT\n");
		return 2;
	}
	lfd = listen_on(atoi(argv[1]));
	ep = epoll_create1(0);
	lev.data.ptr = NULL;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) {
		perror("bench_http_server: epoll");
		return 1;
	}
	for (;;) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, -1);

		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr)
				on_accept(ep, lfd);
			else
				on_readable(ep, evs[i].data.ptr);
		}
	}
}
