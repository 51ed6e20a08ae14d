// Package stalled serves the failure a deadline exists for: a server that
// accepts connections, reads what it is sent and never answers. Tests point
// storage or Graph clients at it to check that their calls give up in time.
package stalled

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// DevKey is Azurite's published development account key; any valid key
// does, since the server never checks a signature.
const DevKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// Server listens on 127.0.0.1 and never answers.
type Server struct {
	ln    net.Listener
	conns atomic.Int64
	mu    sync.Mutex
	open  []net.Conn
}

// Start starts a Server that stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{ln: ln}
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.conns.Add(1)
		s.mu.Lock()
		s.open = append(s.open, c)
		s.mu.Unlock()
		// Read and drop what the client sends, so its writes never block;
		// answer nothing.
		go io.Copy(io.Discard, c)
	}
}

// URL is the server's base URL, http://127.0.0.1:{port}.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Connections returns how many connections the server has accepted: one per
// attempt a client made (a stalled connection is never reused).
func (s *Server) Connections() int { return int(s.conns.Load()) }

// StorageConnectionString returns a storage connection string whose blob,
// queue and table endpoints all point at the server.
func (s *Server) StorageConnectionString() string {
	ep := s.URL() + "/devstoreaccount1"
	return "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + DevKey +
		";BlobEndpoint=" + ep + ";QueueEndpoint=" + ep + ";TableEndpoint=" + ep
}

// Close stops listening and drops every open connection.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.open {
		c.Close()
	}
	s.open = nil
}
