// cxx_handoff: C++17 code that receives a TLS context configured elsewhere
// with plain OpenSSL (an SSL_CTX*), hands it to sslbio with
// sslbio_ctx_wrap_openssl, and pumps one connection over a socket.
//
//   cxx_handoff PORT [--ca FILE] [--name HOST] [--message TEXT]
//
// Connects to 127.0.0.1:PORT (an echo server such as epoll_server), sends
// the message and a newline, reads the echo, closes with close_notify and
// prints what was negotiated. Ownership is RAII throughout: the SSL_CTX
// reference the "other" code gave us is dropped right after the hand-off
// (the sslbio context took its own), the sslbio handles free themselves.
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include <openssl/ssl.h>

#include "sslbio.h"

namespace {

struct CtxFree {
  void operator()(sslbio_ctx *c) const { sslbio_ctx_free(c); }
};
struct ConnFree {
  void operator()(sslbio_conn *c) const { sslbio_conn_free(c); }
};
struct SslCtxFree {
  void operator()(SSL_CTX *c) const { SSL_CTX_free(c); }
};
using Ctx = std::unique_ptr<sslbio_ctx, CtxFree>;
using Conn = std::unique_ptr<sslbio_conn, ConnFree>;
using SslCtx = std::unique_ptr<SSL_CTX, SslCtxFree>;

// "Configured elsewhere": plain OpenSSL, as an existing code base would.
// Returns a new SSL_CTX the caller owns.
SslCtx configure_with_openssl(const std::string &ca) {
  SslCtx ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx || SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != 1)
    throw std::runtime_error("cannot load CA " + ca);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  return ctx;
}

std::string error_of(const sslbio_conn *c) {
  char buf[512];
  sslbio_conn_error(c, buf, sizeof buf);
  return buf;
}

// One connection: an engine over a non-blocking socket, pumped with poll().
class Session {
 public:
  Session(Conn conn, int fd) : conn_(std::move(conn)), fd_(fd) {}
  ~Session() { ::close(fd_); }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  // Calls op until it stops asking for I/O; returns its final result.
  template <typename Op> long pump(Op op) {
    for (int i = 0; i < 10000; i++) {
      long r = op();
      flush();
      if (r != SSLBIO_WANT_READ && r != SSLBIO_WANT_WRITE)
        return r;
      if (r == SSLBIO_WANT_READ && !fill())
        return r;
    }
    throw std::runtime_error("no progress");
  }
  sslbio_conn *get() const { return conn_.get(); }

 private:
  void flush() {
    const void *p;
    long n;
    while ((n = sslbio_conn_drain_buffer(conn_.get(), &p)) > 0) {
      ssize_t w = ::send(fd_, p, static_cast<size_t>(n), MSG_NOSIGNAL);
      if (w > 0) {
        sslbio_conn_drain_commit(conn_.get(), static_cast<size_t>(w));
      } else if (w < 0 && errno == EAGAIN) {
        pollfd pfd{fd_, POLLOUT, 0};
        ::poll(&pfd, 1, 5000);
      } else {
        throw std::runtime_error("send failed");
      }
    }
  }
  // Waits for ciphertext and feeds it; false at EOF (already fed).
  bool fill() {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 10000) <= 0)
      throw std::runtime_error("timeout");
    void *room;
    long cap = sslbio_conn_feed_buffer(conn_.get(), &room);
    if (cap <= 0)
      return true; // engine full: let the operation consume first
    ssize_t n = ::recv(fd_, room, static_cast<size_t>(cap), 0);
    if (n > 0) {
      sslbio_conn_feed_commit(conn_.get(), static_cast<size_t>(n));
      return true;
    }
    if (n < 0 && errno == EAGAIN)
      return true;
    sslbio_conn_feed_eof(conn_.get());
    return true; // the next call reports CLOSED or TRUNCATED
  }

  Conn conn_;
  int fd_;
};

} // namespace

int main(int argc, char **argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [--ca FILE] [--name HOST] [--message TEXT]\n", argv[0]);
    return 2;
  }
  int port = std::atoi(argv[1]);
  std::string ca = "build/certs/ca.pem", name = "localhost", message = "hello from C++";
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string opt = argv[i];
    if (opt == "--ca")
      ca = argv[i + 1];
    else if (opt == "--name")
      name = argv[i + 1];
    else if (opt == "--message")
      message = argv[i + 1];
  }

  // The hand-off: sslbio takes its own reference on the SSL_CTX.
  Ctx ctx;
  {
    SslCtx configured = configure_with_openssl(ca);
    ctx.reset(sslbio_ctx_wrap_openssl(configured.get(), SSLBIO_CLIENT));
    if (!ctx)
      throw std::runtime_error("sslbio_ctx_wrap_openssl failed");
  } // our SSL_CTX reference is gone here; the context lives on in ctx
  Conn conn(sslbio_conn_new(ctx.get(), name.c_str()));
  if (!conn)
    throw std::runtime_error(sslbio_ctx_error(ctx.get()));

  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0)
    throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  Session s(std::move(conn), fd);

  sslbio_conn *c = s.get();
  if (long st = s.pump([&] { return long(sslbio_conn_handshake(c)); }); st != SSLBIO_OK)
    throw std::runtime_error("handshake: " + error_of(c));
  std::printf("cxx_handoff: handshake done: %s %s (SSL_CTX configured by plain OpenSSL)\n",
              sslbio_conn_version(c), sslbio_conn_cipher(c));
  std::string line = message + "\n";
  for (size_t off = 0; off < line.size();) {
    long w = s.pump([&] { return sslbio_conn_write(c, line.data() + off, line.size() - off); });
    if (w <= 0)
      throw std::runtime_error("write: " + error_of(c));
    off += static_cast<size_t>(w);
  }
  std::string echo;
  char buf[4096];
  while (echo.find('\n') == std::string::npos) {
    long r = s.pump([&] { return sslbio_conn_read(c, buf, sizeof buf); });
    if (r <= 0)
      throw std::runtime_error(std::string("read: ") + sslbio_strstatus(int(r)) + " " + error_of(c));
    echo.append(buf, static_cast<size_t>(r));
  }
  std::printf("cxx_handoff: echo: %s", echo.c_str());
  sslbio_conn_shutdown(c); // close_notify; the server answers with its own
  long r = s.pump([&] { return sslbio_conn_read(c, buf, sizeof buf); });
  std::printf("cxx_handoff: close: %s\n", r == SSLBIO_CLOSED ? "clean (close_notify both ways)"
                                                             : sslbio_strstatus(int(r)));
  return echo == line && r == SSLBIO_CLOSED ? 0 : 1;
} catch (const std::exception &e) {
  std::fprintf(stderr, "cxx_handoff: %s\n", e.what());
  return 1;
}
