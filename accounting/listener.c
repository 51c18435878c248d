/*
 * listener.c - see listener.h.
 */
#define _GNU_SOURCE	/* pipe2, accept4 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "listener.h"
#include "log.h"

#define MAX_CONNS 4096
#define IDLE_TIMEOUT_MS (300 * 1000)	/* an idle connection is closed after this */
#define ANSWER_TIMEOUT_MS 5000		/* a client that does not read its answer */

struct conn {
	int fd;
	char peer[64];
	struct conn *prev, *next;
	int64_t last_active;
	bool idle;		/* armed in epoll, waiting for a request */
};

static struct {
	int lfd, epfd, wakefd;
	atomic_bool stop;
	pthread_mutex_t lock;	/* conns list, idle flags, epoll re-arming */
	struct conn *conns;
	size_t nconns;
} L = { .lfd = -1, .epfd = -1, .wakefd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

/* epoll data for the two fds that are not connections */
static int tag_listen, tag_wake;

int listener_init(const char *address, long port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };
	char portstr[16];
	int one = 1, rc;

	snprintf(portstr, sizeof(portstr), "%ld", port);
	rc = getaddrinfo(address && *address ? address : NULL, portstr, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "ListenAddress %s: %s", address, gai_strerror(rc));
		return -1;
	}
	L.lfd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (L.lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	setsockopt(L.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(L.lfd, res->ai_addr, res->ai_addrlen) || listen(L.lfd, 1024)) {
		snprintf(err, errlen, "cannot listen on %s:%ld: %s", address, port, strerror(errno));
		freeaddrinfo(res);
		close(L.lfd);
		L.lfd = -1;
		return -1;
	}
	freeaddrinfo(res);
	L.epfd = epoll_create1(EPOLL_CLOEXEC);
	L.wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (L.epfd < 0 || L.wakefd < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		return -1;
	}
	ev.data.ptr = &tag_listen;
	if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, L.lfd, &ev)) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	ev.events = EPOLLIN;	/* level-triggered: wakes every waiting worker */
	ev.data.ptr = &tag_wake;
	if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, L.wakefd, &ev)) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void peer_name(const struct sockaddr_storage *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(out, len, "%s:%u", host, port);
}

static void unlink_locked(struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		L.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	L.nconns--;
}

static void accept_all(void)
{
	for (;;) {
		struct sockaddr_storage sa;
		socklen_t salen = sizeof(sa);
		int fd = accept4(L.lfd, (struct sockaddr *)&sa, &salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT };
		struct conn *c;
		int one = 1;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warning("accept: %s", strerror(errno));
			if (errno == EINTR)
				continue;
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c || L.nconns >= MAX_CONNS) {
			char peer[64];

			peer_name(&sa, peer, sizeof(peer));
			log_warning("connection from %s refused: %s", peer,
				    c ? "too many connections" : "out of memory");
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		peer_name(&sa, c->peer, sizeof(c->peer));
		c->last_active = frame_now_ms();
		c->idle = true;
		ev.data.ptr = c;
		pthread_mutex_lock(&L.lock);
		c->next = L.conns;
		if (L.conns)
			L.conns->prev = c;
		L.conns = c;
		L.nconns++;
		if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, fd, &ev)) {
			unlink_locked(c);
			pthread_mutex_unlock(&L.lock);
			log_warning("epoll_ctl: %s", strerror(errno));
			close(fd);
			free(c);
			continue;
		}
		pthread_mutex_unlock(&L.lock);
		log_debug2("connection from %s", c->peer);
	}
}

/* Idle connections are shut down, not freed: if a worker has just taken
 * one from epoll, it must find it intact; it reads EOF and closes it. */
void listener_tick(void)
{
	int64_t now = frame_now_ms();

	pthread_mutex_lock(&L.lock);
	for (struct conn *c = L.conns; c; c = c->next) {
		if (c->idle && now - c->last_active >= IDLE_TIMEOUT_MS) {
			log_debug("closing idle connection from %s", c->peer);
			shutdown(c->fd, SHUT_RDWR);
			c->last_active = now;
		}
	}
	pthread_mutex_unlock(&L.lock);
}

/* Workers wait here: the next connection with a request to read, or NULL
 * when stopping.  Each connection is armed one-shot, so one worker gets it. */
struct conn *listener_next(void)
{
	while (!atomic_load(&L.stop)) {
		struct epoll_event ev;
		int n = epoll_wait(L.epfd, &ev, 1, 1000);

		if (n < 0 && errno != EINTR) {
			log_error("epoll_wait: %s", strerror(errno));
			return NULL;
		}
		if (n <= 0)
			continue;
		if (ev.data.ptr == &tag_wake)
			break;
		if (ev.data.ptr == &tag_listen) {
			struct epoll_event again = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = &tag_listen };

			accept_all();
			if (!atomic_load(&L.stop) && L.lfd >= 0)
				epoll_ctl(L.epfd, EPOLL_CTL_MOD, L.lfd, &again);
			continue;
		}
		{
			struct conn *c = ev.data.ptr;

			pthread_mutex_lock(&L.lock);
			c->idle = false;
			pthread_mutex_unlock(&L.lock);
			return c;
		}
	}
	return NULL;
}

void listener_stop(void)
{
	uint64_t one = 1;

	atomic_store(&L.stop, true);
	if (L.wakefd >= 0)
		(void)!write(L.wakefd, &one, sizeof(one));
}

void listener_fini(void)
{
	if (L.lfd >= 0)
		close(L.lfd);
	L.lfd = -1;
	pthread_mutex_lock(&L.lock);
	while (L.conns) {
		struct conn *c = L.conns;

		unlink_locked(c);
		close(c->fd);
		free(c);
	}
	pthread_mutex_unlock(&L.lock);
	if (L.epfd >= 0)
		close(L.epfd);
	if (L.wakefd >= 0)
		close(L.wakefd);
	L.epfd = L.wakefd = -1;
}

void conn_close(struct conn *c)
{
	pthread_mutex_lock(&L.lock);
	unlink_locked(c);
	pthread_mutex_unlock(&L.lock);
	if (L.epfd >= 0)
		epoll_ctl(L.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

void conn_respond(struct conn *c, json_object *answer)
{
	size_t len;
	const char *text = json_object_to_json_string_length(answer, JSON_C_TO_STRING_PLAIN, &len);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.ptr = c };
	enum frame_status st;

	st = text ? frame_send(c->fd, text, len, frame_now_ms() + ANSWER_TIMEOUT_MS) : FRAME_NO_MEMORY;
	if (st != FRAME_OK) {
		log_debug("cannot answer %s: %s", c->peer, frame_status_name(st));
		conn_close(c);
		return;
	}
	pthread_mutex_lock(&L.lock);
	c->idle = true;
	c->last_active = frame_now_ms();
	if (epoll_ctl(L.epfd, EPOLL_CTL_MOD, c->fd, &ev)) {
		pthread_mutex_unlock(&L.lock);
		conn_close(c);
		return;
	}
	pthread_mutex_unlock(&L.lock);
}

int conn_fd(const struct conn *c)
{
	return c->fd;
}

const char *conn_peer(const struct conn *c)
{
	return c->peer;
}
