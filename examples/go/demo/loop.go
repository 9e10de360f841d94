package main

import (
	"fmt"
	"syscall"
	"time"
)

// listenLoopback opens a non-blocking listener on 127.0.0.1 with a free port.
func listenLoopback() (fd, port int, err error) {
	fd, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		return -1, 0, err
	}
	addr := &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err = syscall.Bind(fd, addr); err == nil {
		err = syscall.Listen(fd, 16)
	}
	if err != nil {
		syscall.Close(fd)
		return -1, 0, err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return -1, 0, err
	}
	return fd, sa.(*syscall.SockaddrInet4).Port, nil
}

// connectLoopback starts a non-blocking connect to 127.0.0.1:port.
func connectLoopback(port int) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		return -1, err
	}
	err = syscall.Connect(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
	if err != nil && err != syscall.EINPROGRESS {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}

// acceptOne waits (bounded) for the connection on a non-blocking listener.
func acceptOne(lfd int) (int, error) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		fd, _, err := syscall.Accept4(lfd, syscall.SOCK_NONBLOCK)
		if err == nil {
			return fd, nil
		}
		if err != syscall.EAGAIN {
			return -1, err
		}
		time.Sleep(time.Millisecond)
	}
	return -1, fmt.Errorf("demo: no connection accepted within 5s")
}

// runLoop drives every peer from one edge-triggered epoll set until all
// are finished. With EPOLLET each event is reported once, so a peer is
// pumped until its socket says EAGAIN and its engine has nothing to do.
func runLoop(peers []*peer) error {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	defer syscall.Close(ep)
	byFD := map[int32]*peer{}
	for _, p := range peers {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | (syscall.EPOLLET & 0xffffffff), Fd: int32(p.fd)}
		if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, p.fd, &ev); err != nil {
			return err
		}
		byFD[int32(p.fd)] = p
		if err := p.pump(); err != nil { // a client starts its handshake unprompted
			return err
		}
	}
	events := make([]syscall.EpollEvent, 8)
	deadline := time.Now().Add(60 * time.Second)
	for !allFinished(peers) {
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: loop did not finish within 60s")
		}
		n, err := syscall.EpollWait(ep, events, 1000)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		for _, ev := range events[:n] {
			if p := byFD[ev.Fd]; p != nil && !p.finished {
				if err := p.pump(); err != nil {
					return fmt.Errorf("%s: %w", p.name, err)
				}
			}
		}
	}
	return nil
}

func allFinished(peers []*peer) bool {
	for _, p := range peers {
		if !p.finished {
			return false
		}
	}
	return true
}
