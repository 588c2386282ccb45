package testenv

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// ReservePort holds a TCP port on 127.0.0.1 for a server that starts late: the socket is
// bound but does not listen, so a connection to the port is refused, as to a server that
// is not up yet, and no other program can take the port meanwhile. (A port found free and
// closed again can be taken by a test of another package, which go test runs in parallel,
// before it is used.) listen starts accepting on the port; the socket is closed at cleanup.
func ReservePort(t testing.TB) (port int, listen func() (net.Listener, error)) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("reserve a port: socket: %v", err)
	}
	syscall.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), "reserved-port")
	t.Cleanup(func() { f.Close() })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("reserve a port: bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("reserve a port: getsockname: %v", err)
	}
	return sa.(*syscall.SockaddrInet4).Port, func() (net.Listener, error) {
		if err := syscall.Listen(fd, syscall.SOMAXCONN); err != nil {
			return nil, err
		}
		return net.FileListener(f)
	}
}
