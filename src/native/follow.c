/*
 * The native follower of `upkeep tail -f -o raw` (one log directory, no filter): a thread of its own,
 * blocked in read(2) on an inotify descriptor, that writes a small append to `current` to stdout the
 * moment it is readable, before node's event loop has even woken up.
 *
 * Why C: issue 5 asks that a followed line appear no later than with `tail -F`. Measured on the 2-core
 * VM (bench/tail.mjs, bench/README.md): a minimal node follower (fs.watch, readSync, writeSync and
 * nothing else) is itself 1.23-1.55x `tail -F`: node spends 25-30 us between the inotify event and the
 * write(2) on caches gone cold since the last wake-up, `tail -F` 11-13 us, and no node or V8 flag
 * changes that. A thread in C inside the same process (this file) measured 0.96x.
 *
 * It only ever speeds things up. The thread watches the log directory in place of fs.watch (the same
 * events) and wakes the JavaScript side (a thread-safe function) for every event but the appends it
 * wrote itself: a rotation, a deletion, an append it left alone. src/io/native-follow.ts arms it after
 * each JavaScript pass with the live file and the offset of the first byte not yet written, and
 * disarms it before the next pass, taking the count of bytes it wrote; the pass then reads those bytes
 * as always (stamps, rotation, retention, processors: all in JavaScript) and drops that many bytes from
 * its output. The thread handles nothing but an append of at most PIPE_BUF bytes of whole lines while
 * stdout takes them without blocking (a regular file, or a non-blocking pipe or socket; never a
 * terminal); anything else (a burst, a full pipe, a truncation) it leaves to the pass. It never holds
 * the lock across a wait, so the main thread (signals, TERM) is never held up by it.
 * Measured with it (bench/tail.mjs follow): 0.89-0.93x the latency of `tail -F`, CPU 24 us a line
 * (`tail -F` 23, the JavaScript follower 105-130).
 *
 * Built by `npm run build` (src/native/build.mjs) into dist/native/follow.node with the C compiler and
 * node's own headers; where it cannot be built or loaded, tail -f runs the JavaScript follower alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* What one wake-up may write: PIPE_BUF, so that a write to a pipe that polled writable is whole. */
#define MAX_WRITE PIPE_BUF

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int started;        /* the thread runs */
static int in_fd = -1;     /* inotify */
static int wd = -1;        /* the watched directory's watch */
static char name[NAME_MAX + 1]; /* the live file's name in it */
static int src = -1;       /* a dup of the live file's descriptor */
static dev_t src_dev;
static ino_t src_ino;
static off_t pos;          /* the live file's first byte not yet written */
static int armed;
static int broken;         /* stdout failed (EPIPE, ...): the pass stops */
static int out_ok;         /* stdout never blocks a write: a regular file, or non-blocking (a pipe or a
                              socket as node leaves it); not a terminal, whose writes block (XOFF, a
                              stopped terminal) and would hold the lock, and with it TERM */
static napi_threadsafe_function wake; /* the JavaScript side's wake-up */
static int pending;        /* a wake-up is queued and has not yet asked for the events */
static int flags;          /* events for the JavaScript side since it last asked: */
#define EV_APPEND 1        /* an append the thread did not write */
#define EV_OTHER 2         /* anything else in the directory (a rotation, a deletion, an overflow) */
static uint64_t written;   /* bytes written since the last take */
static int truncated;      /* the live file shrank below pos since the last take */
static uint64_t total;     /* bytes written in all (UPKEEP_DEBUG) */
static char buf[MAX_WRITE + 1];

/*
 * One append: under the lock, armed. Returns 0 when it is handled (written, or nothing to write yet: a
 * partial line's end comes with an event of its own), 1 when the JavaScript pass must run.
 */
static int step(void) {
  ssize_t k;
  do k = pread(src, buf, sizeof buf, pos);
  while (k < 0 && errno == EINTR);
  if (k == 0) {
    /* Truncated below what was written: the thread stops (growing again, the file would have it write
       from the middle of the new contents) and the pass starts the file over. */
    struct stat st;
    if (fstat(src, &st) != 0 || st.st_size >= pos) return 0;
    truncated = 1;
    armed = 0;
    return 1;
  }
  if (k < 0 || k > MAX_WRITE || !out_ok) return 1; /* an error, a burst, a stdout that blocks: the pass */
  size_t end = (size_t)k;
  while (end > 0 && buf[end - 1] != '\n') end--;
  if (end == 0) return 0;
  struct pollfd p = {.fd = 1, .events = POLLOUT};
  int r;
  do r = poll(&p, 1, 0);
  while (r < 0 && errno == EINTR);
  if (r == 1 && (p.revents & (POLLERR | POLLNVAL))) broken = 1;
  if (r != 1 || !(p.revents & POLLOUT) || broken) return 1; /* stdout is full: the pass waits for it */
  size_t off = 0;
  while (off < end) {
    ssize_t w = write(1, buf + off, end - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) broken = 1;
      break; /* (EAGAIN: what was written is counted; the pass writes the rest) */
    }
    off += (size_t)w;
  }
  pos += (off_t)off;
  written += off;
  total += off;
  return off < end;
}

/* Tells the JavaScript side (under the lock): one queued wake-up at a time, the flags add up. */
static void notify(int f) {
  flags |= f;
  if (pending || wake == NULL) return;
  if (napi_call_threadsafe_function(wake, NULL, napi_tsfn_nonblocking) == napi_ok) pending = 1;
}

static void *run(void *arg) {
  (void)arg;
  char ev[sizeof(struct inotify_event) + NAME_MAX + 1] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t n = read(in_fd, ev, sizeof ev);
    if (n < 0) {
      if (errno == EINTR) continue;
      return NULL;
    }
    pthread_mutex_lock(&mu);
    int append = 0, other = 0;
    for (char *p = ev; p < ev + n;) {
      struct inotify_event *e = (struct inotify_event *)p;
      p += sizeof(struct inotify_event) + e->len;
      if (e->mask & IN_Q_OVERFLOW) other = 1;
      if (e->wd != wd) continue; /* (a watch removed since) */
      if ((e->mask & IN_MODIFY) && e->len > 0 && strcmp(e->name, name) == 0) append = 1;
      else other = 1;
    }
    int f = other ? EV_OTHER : 0;
    if (append && (!armed || broken || step())) f |= EV_APPEND;
    if (f) notify(f);
    pthread_mutex_unlock(&mu);
  }
}

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

static napi_value fail(napi_env env, const char *what) {
  napi_throw_error(env, NULL, what);
  return NULL;
}

/* Starts the thread and its inotify descriptor once. Under the lock. */
static const char *start(void) {
  if (started) return NULL;
  in_fd = inotify_init1(IN_CLOEXEC);
  if (in_fd < 0) return strerror(errno);
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&a, 64 * 1024);
  int e = pthread_create(&t, &a, run, NULL);
  pthread_attr_destroy(&a);
  if (e != 0) {
    close(in_fd);
    in_fd = -1;
    return strerror(e);
  }
  started = 1;
  return NULL;
}

/*
 * watch(dir, name, callback): the thread watches dir (as fs.watch would) and calls callback for every
 * event but the appends to dir/name it writes itself; callback then asks events() what happened.
 */
static napi_value watch_(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char d[PATH_MAX], nm[NAME_MAX + 1];
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) return fail(env, "watch: 3 arguments");
  if (napi_get_value_string_utf8(env, argv[0], d, sizeof d, &len) != napi_ok || len >= sizeof d - 1) return fail(env, "watch: directory");
  if (napi_get_value_string_utf8(env, argv[1], nm, sizeof nm, &len) != napi_ok || len >= sizeof nm - 1) return fail(env, "watch: name");
  napi_value rn;
  napi_threadsafe_function t;
  napi_create_string_utf8(env, "upkeep-native-follow", NAPI_AUTO_LENGTH, &rn);
  if (napi_create_threadsafe_function(env, argv[2], NULL, rn, 0, 1, NULL, NULL, NULL, NULL, &t) != napi_ok) return fail(env, "watch: callback");
  napi_unref_threadsafe_function(env, t); /* (the follow loop's own timer keeps node running) */
  pthread_mutex_lock(&mu);
  const char *err = start();
  if (err == NULL) {
    if (wd >= 0) inotify_rm_watch(in_fd, wd);
    wd = inotify_add_watch(in_fd, d, IN_ATTRIB | IN_CREATE | IN_MODIFY | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_MOVED_FROM | IN_MOVED_TO);
    if (wd < 0) err = strerror(errno);
  }
  napi_threadsafe_function old = wake;
  if (err == NULL) {
    strcpy(name, nm);
    wake = t;
    pending = 0;
    flags = 0;
    armed = 0;
    written = 0;
    truncated = 0;
    broken = 0;
  }
  pthread_mutex_unlock(&mu);
  if (err != NULL) {
    napi_release_threadsafe_function(t, napi_tsfn_abort);
    return fail(env, err);
  }
  if (old != NULL) napi_release_threadsafe_function(old, napi_tsfn_abort);
  return NULL;
}

/* arm(fd, offset): write the appends to the watched file (read through a dup of fd) from offset on. */
static napi_value arm(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  double off;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) return fail(env, "arm: 2 arguments");
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_double(env, argv[1], &off) != napi_ok || off < 0) return fail(env, "arm: fd, offset");
  struct stat st;
  if (fstat(fd, &st) < 0) return fail(env, strerror(errno));
  const char *err = NULL;
  pthread_mutex_lock(&mu);
  if (wd < 0) err = "arm: not watching";
  else if (src < 0 || src_dev != st.st_dev || src_ino != st.st_ino) {
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (n < 0) err = strerror(errno);
    else {
      if (src >= 0) close(src);
      src = n;
      src_dev = st.st_dev;
      src_ino = st.st_ino;
    }
  }
  if (err == NULL) {
    struct stat o;
    int fl = fcntl(1, F_GETFL);
    out_ok = fstat(1, &o) == 0 && (S_ISREG(o.st_mode) || (fl >= 0 && (fl & O_NONBLOCK) && !isatty(1)));
    pos = (off_t)off;
    written = 0;
    armed = 1;
  }
  pthread_mutex_unlock(&mu);
  if (err != NULL) return fail(env, err);
  return NULL;
}

/* events(): what happened since the last call (EV_APPEND | EV_OTHER); the next event wakes again. */
static napi_value events(napi_env env, napi_callback_info info) {
  (void)info;
  pthread_mutex_lock(&mu);
  int f = flags;
  flags = 0;
  pending = 0;
  pthread_mutex_unlock(&mu);
  return num(env, f);
}

/*
 * take(): disarms; the bytes written since the last take, or -1 when stdout failed, or -2 when the live
 * file was truncated below them (what was written of it is gone from it).
 */
static napi_value take(napi_env env, napi_callback_info info) {
  (void)info;
  pthread_mutex_lock(&mu);
  armed = 0;
  double k = broken ? -1 : truncated ? -2 : (double)written;
  written = 0;
  truncated = 0;
  pthread_mutex_unlock(&mu);
  return num(env, k);
}

/* release(): disarms, closes the file, removes the watch and the callback (the thread stays, idle). */
static napi_value release(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  pthread_mutex_lock(&mu);
  armed = 0;
  written = 0;
  broken = 0;
  if (src >= 0) close(src);
  src = -1;
  if (wd >= 0) inotify_rm_watch(in_fd, wd);
  wd = -1;
  napi_threadsafe_function old = wake;
  wake = NULL;
  pending = 0;
  flags = 0;
  pthread_mutex_unlock(&mu);
  if (old != NULL) napi_release_threadsafe_function(old, napi_tsfn_abort);
  return NULL;
}

/* total(): bytes written by the thread since the process started. */
static napi_value total_(napi_env env, napi_callback_info info) {
  (void)info;
  pthread_mutex_lock(&mu);
  double t = (double)total;
  pthread_mutex_unlock(&mu);
  return num(env, t);
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {{"watch", watch_}, {"arm", arm}, {"take", take}, {"events", events}, {"release", release}, {"total", total_}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &f) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, fns[i].name, f) != napi_ok) return NULL;
  }
  return exports;
}
