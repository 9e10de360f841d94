package sslbio

/*
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "sslbio.h"

// The key log sink of a Context with a KeyLogWriter. The C engine calls
// sslbio__go_keylog_line during an engine call, on that call's thread (and
// engines of one context may run on several threads at once), so the line
// only goes into this buffer; Go takes the lines after the engine call and
// writes them. No call from C into Go.
//
// The sink belongs to the context's SSL_CTX (ex_data, freed with it), so it
// lives exactly as long as anything can log into it: engines keep their
// context alive after the Go Context is closed.
typedef struct sslbio__go_keylog {
	uint64_t produced; // lines appended so far; read by Go atomically
	pthread_mutex_t mu; // guards the rest
	char *buf;
	size_t len, cap;
	uint64_t dropped; // lines dropped while the buffer was full
} sslbio__go_keylog;

// Bound on lines waiting for Go (a handshake writes five).
#define SSLBIO__GO_KEYLOG_MAX (1 << 20)

static void sslbio__go_keylog_line(void *user, const char *line) {
	sslbio__go_keylog *k = user;
	size_t n = strlen(line);
	pthread_mutex_lock(&k->mu);
	if (k->len + n + 1 > k->cap && k->len + n + 1 <= SSLBIO__GO_KEYLOG_MAX) {
		size_t cap = k->cap ? k->cap : 1024;
		while (cap < k->len + n + 1)
			cap *= 2;
		char *p = realloc(k->buf, cap);
		if (p != NULL)
			k->buf = p, k->cap = cap;
	}
	if (k->len + n + 1 <= k->cap) {
		memcpy(k->buf + k->len, line, n);
		k->buf[k->len + n] = '\n';
		k->len += n + 1;
	} else {
		k->dropped++;
	}
	__atomic_add_fetch(&k->produced, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&k->mu);
}

static void sslbio__go_keylog_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                                   long argl, void *argp) {
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	sslbio__go_keylog *k = ptr;
	if (k == NULL)
		return;
	pthread_mutex_destroy(&k->mu);
	if (k->buf != NULL)
		OPENSSL_cleanse(k->buf, k->cap);
	free(k->buf);
	free(k);
}

static int sslbio__go_keylog_index = -1;
static pthread_once_t sslbio__go_keylog_once = PTHREAD_ONCE_INIT;

static void sslbio__go_keylog_make_index(void) {
	sslbio__go_keylog_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, sslbio__go_keylog_free);
}

// Give ctx a sink and turn its key log on; the sink, or NULL with *st set.
static sslbio__go_keylog *sslbio__go_keylog_install(sslbio_ctx *ctx, int *st) {
	pthread_once(&sslbio__go_keylog_once, sslbio__go_keylog_make_index);
	SSL_CTX *ssl_ctx = sslbio_ctx_openssl(ctx);
	*st = SSLBIO_ENOMEM;
	if (sslbio__go_keylog_index < 0 || ssl_ctx == NULL)
		return NULL;
	sslbio__go_keylog *k = calloc(1, sizeof(*k));
	if (k == NULL)
		return NULL;
	pthread_mutex_init(&k->mu, NULL);
	*st = sslbio_ctx_set_keylog(ctx, sslbio__go_keylog_line, k);
	if (*st != SSLBIO_OK || SSL_CTX_set_ex_data(ssl_ctx, sslbio__go_keylog_index, k) != 1) {
		if (*st == SSLBIO_OK) {
			sslbio_ctx_set_keylog(ctx, NULL, NULL);
			*st = SSLBIO_ENOMEM;
		}
		pthread_mutex_destroy(&k->mu);
		free(k);
		return NULL;
	}
	return k;
}

// The lines waiting, moved into a new malloc'd buffer (*out, *len; the
// caller frees it); returns the count of lines produced up to them.
static uint64_t sslbio__go_keylog_take(sslbio__go_keylog *k, char **out, size_t *len) {
	pthread_mutex_lock(&k->mu);
	*out = k->buf;
	*len = k->len;
	k->buf = NULL;
	k->len = k->cap = 0;
	uint64_t produced = k->produced;
	pthread_mutex_unlock(&k->mu);
	return produced;
}
*/
import "C"

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"
	"unsafe"
)

// keyLog is a Context's KeyLogWriter and its C sink.
type keyLog struct {
	sink    *C.sslbio__go_keylog // owned by the SSL_CTX; lives while an engine can log
	w       io.Writer
	mu      sync.Mutex    // one writer at a time, across the Context's engines
	written atomic.Uint64 // lines taken from the sink and written (or failed)
}

// installKeyLog turns the context's key log on, into w.
func (x *Context) installKeyLog(w io.Writer) (*keyLog, error) {
	var kl *keyLog
	err := x.call("key log", func(c *C.sslbio_ctx) C.int {
		var st C.int
		sink := C.sslbio__go_keylog_install(c, &st)
		if sink != nil {
			kl = &keyLog{sink: sink, w: w}
		}
		return st
	})
	return kl, err
}

// flush writes the lines the engines logged, if any. An engine calls it
// after each call that may have derived secrets: when it returns, every
// line logged so far (by this engine's call too) has been written, even
// if another engine's goroutine took it. Cheap when there is none: one
// atomic load of C memory.
func (kl *keyLog) flush() {
	produced := (*uint64)(unsafe.Pointer(&kl.sink.produced))
	if atomic.LoadUint64(produced) == kl.written.Load() {
		return
	}
	kl.mu.Lock()
	defer kl.mu.Unlock()
	var buf *C.char
	var n C.size_t
	upTo := C.sslbio__go_keylog_take(kl.sink, &buf, &n)
	if buf == nil {
		kl.written.Store(uint64(upTo))
		return
	}
	lines := C.GoBytes(unsafe.Pointer(buf), C.int(n))
	C.OPENSSL_cleanse(unsafe.Pointer(buf), n)
	C.free(unsafe.Pointer(buf))
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		kl.w.Write(lines[:i+1]) // as crypto/tls: one Write per line, errors ignored
		lines = lines[i+1:]
	}
	kl.written.Store(uint64(upTo))
}
