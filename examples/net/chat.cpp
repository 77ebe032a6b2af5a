// The chat server of "The Go Programming Language" (gopl.io/ch8/chat), with goro::net. One
// broadcaster goroutine owns the set of clients and is the only one that touches it: the
// connections reach it through three channels (entering, leaving, messages) and a select. Each
// connection has two goroutines: a reader (handle_conn) that turns the lines the user types into
// messages, and a writer fed by the client's own goro::chan<std::string>, so that the
// broadcaster hands a message to every writer without waiting for the network.
//
// As in the book's exercise 8.14, the first line a user sends is their name. The writer's
// channel holds 16 messages; a client that stops reading for longer than that (and than its
// socket buffers) holds the broadcaster up, as in the book. Go's version:
//
//   func broadcaster() {
//       clients := make(map[client]bool)
//       for {
//           select {
//           case msg := <-messages: for cli := range clients { cli <- msg }
//           case cli := <-entering: clients[cli] = true
//           case cli := <-leaving:  delete(clients, cli); close(cli)
//           }
//       }
//   }
//
//   chat                self-test: alice, bob and carol join, talk and leave on 127.0.0.1;
//                       each prints everything the server sent it
//   chat --serve ADDR   the server alone, forever: `chat --serve 127.0.0.1:8000`, then in two
//                       or more terminals `nc 127.0.0.1 8000`, type a name, then messages
#include <cstdio>
#include <goro/goro.hpp>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/print.hpp"
#include "common/serve_main.hpp"

namespace net = goro::net;

using client = goro::send_chan<std::string>;  // a client's outgoing messages

// What the connections share with the broadcaster.
struct hub {
  goro::chan<client> entering = goro::make_chan<client>();
  goro::chan<client> leaving = goro::make_chan<client>();
  goro::chan<std::string> messages = goro::make_chan<std::string>();
};

// Owns the clients; sends every message to each. Returns once messages is closed.
void broadcaster(const hub& h) {
  std::vector<client> clients;
  bool open = true;
  auto broadcast = [&](std::optional<std::string> msg) {
    if (!msg) {
      open = false;  // messages was closed: shutting down
      return;
    }
    for (const client& c : clients) c.send(*msg);
  };
  auto enter = [&](std::optional<client> c) { clients.push_back(*c); };
  auto leave = [&](std::optional<client> c) {
    std::erase(clients, *c);
    c->close();  // its writer writes what is queued, then returns
  };
  while (open) {
    goro::select(goro::on_recv(h.messages, broadcast), goro::on_recv(h.entering, enter),
                 goro::on_recv(h.leaving, leave));
  }
}

// Writes each message of `out` as a line, until the broadcaster closes out.
void client_writer(net::conn& c, goro::recv_chan<std::string> out) {
  bool ok = true;
  for (const std::string& msg : out) {
    if (!ok) continue;  // keep draining: the broadcaster must not wait for a dead client
    try {
      c.write({msg, "\n"});
    } catch (const net::error&) {
      ok = false;
      c.close();  // wakes the reader, whose read then throws
    }
  }
}

constexpr std::size_t kMaxLine = 4096;

// One connection (gopl's handleConn): the first line is the user's name, each later one a
// message. The connection closes when the function returns, after its writer has.
void handle_conn(net::conn c, const hub& h) {
  auto out = goro::make_chan<std::string>(16);
  goro::wait_group writer;
  writer.add(1);
  goro::go([&c, out, &writer] {
    client_writer(c, out);
    writer.done();
  });

  std::optional<std::string> name;
  net::reader in(c);
  try {
    name = in.read_line(kMaxLine);
    if (name) {
      h.entering.send(out);
      h.messages.send(*name + " has arrived");
      while (std::optional<std::string> line = in.read_line(kMaxLine))
        h.messages.send(*name + ": " + *line);
    }
  } catch (const net::error&) {         // a reset, or the writer gave up on the client
  } catch (const std::length_error&) {  // a line longer than kMaxLine: drop the client
  }
  if (name) {
    h.leaving.send(out);  // the broadcaster closes out
    h.messages.send(*name + " has left");
  } else {
    out.close();  // never entered
  }
  writer.wait();
}

// Accepts until ln is closed; returns once every connection's goroutine has.
void serve(net::listener& ln, const hub& h) {
  goro::wait_group conns;
  for (;;) {
    net::conn c;
    try {
      c = ln.accept();
    } catch (const net::error& e) {
      if (e.code() != net::errc::closed) throw;
      break;
    }
    conns.add(1);
    goro::go([c = std::move(c), h, &conns]() mutable {
      handle_conn(std::move(c), h);
      conns.done();
    });
  }
  conns.wait();
}

// ---- the self-test ---------------------------------------------------------------------------

// Send `say` (unless empty), then read until the line `await` has come.
struct step {
  std::string say, await;
};
struct transcript {
  std::string name;
  std::vector<std::string> lines;
};

// A scripted user. It runs each step main sends and acknowledges it once the awaited line came
// back, which tells main that the broadcaster has handled it. When main closes `steps`, the user
// leaves (half-close), reads what is still on its way until the server hangs up, and sends
// everything it received.
void user(std::string name, const std::string& addr, goro::recv_chan<step> steps,
          goro::send_chan<goro::signal> acks, goro::send_chan<transcript> done) {
  net::conn c = net::dial("tcp", addr);
  net::reader in(c);
  transcript t{std::move(name), {}};
  for (const step& s : steps) {
    if (!s.say.empty()) c.write({s.say, "\n"});
    for (;;) {
      std::optional<std::string> line = in.read_line();
      t.lines.push_back(line.value_or("<server hung up>"));
      if (!line || *line == s.await) break;
    }
    acks.send({});
  }
  c.close_write();
  while (std::optional<std::string> line = in.read_line()) t.lines.push_back(std::move(*line));
  done.send(std::move(t));
}

int self_test() {
  hub h;
  auto broadcaster_done = goro::make_chan<goro::signal>();
  goro::go([h, broadcaster_done] {
    broadcaster(h);
    broadcaster_done.close();
  });
  net::listener ln = net::listen("tcp", "127.0.0.1:0");
  auto server_done = goro::make_chan<goro::signal>();
  goro::go([&ln, &h, server_done] {
    serve(ln, h);
    server_done.close();
  });

  // Main runs the script one step at a time: each waits for its ack, so the order in which the
  // broadcaster sees things, and so what each user receives, is the same on every run.
  const std::string addr = ln.addr();
  auto acks = goro::make_chan<goro::signal>();
  auto done = goro::make_chan<transcript>(3);
  std::map<std::string, goro::chan<step>> users;
  auto act = [&](const std::string& who, std::string say, std::string await) {
    users.at(who).send({std::move(say), std::move(await)});
    acks.recv();
  };
  auto join = [&](const std::string& who) {
    users[who] = goro::make_chan<step>();
    goro::go(user, who, addr, users[who], acks, done);
    act(who, who, who + " has arrived");  // the first line is the name
  };
  auto say = [&](const std::string& who, const std::string& text) {
    act(who, text, who + ": " + text);
  };
  auto leave = [&](const std::string& who) { users.at(who).close(); };

  join("alice");
  join("bob");
  say("alice", "hi everyone");
  join("carol");
  say("bob", "hello carol");
  say("carol", "hi, I'm new here");
  leave("carol");
  act("bob", "", "carol has left");
  leave("bob");
  act("alice", "", "bob has left");
  leave("alice");

  std::map<std::string, std::vector<std::string>> received;  // printed by name
  for (std::size_t i = 0; i < users.size(); ++i) {
    transcript t = *done.recv();
    received[t.name] = std::move(t.lines);
  }
  for (const auto& [who, lines] : received) {
    examples::println(who, "received:");
    for (const std::string& line : lines) examples::println("   ", line);
  }

  ln.close();
  server_done.recv();  // every connection is closed: nobody sends messages any more
  h.messages.close();
  broadcaster_done.recv();
  examples::println("server stopped");
  return 0;
}

int main(int argc, char** argv) {
  return examples::serve_main(argc, argv, "chat", self_test, [](net::listener& ln) {
    hub h;
    goro::go(broadcaster, h);
    examples::println("chat: serving on", ln.addr());
    serve(ln, h);
  });
}
