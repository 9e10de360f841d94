package sslbio

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// Rule 4, taken literally: a caller that treats ErrWantWrite as "nothing was
// taken" and always writes from the offset the returned counts give —
// never re-offering the same bytes — must deliver exactly its stream, even
// when it drains the engine in small, odd pieces while the output is full.
// (A record half in the engine's queue and half in OpenSSL's write buffer
// used to make Write report ErrWantWrite after consuming plaintext.)
func TestWriteWantWriteTakesNothing(t *testing.T) {
	for name, mods := range map[string][]func(*Config){"tls13": {tls13}, "tls12": {tls12}} {
		t.Run(name, func(t *testing.T) {
			rng := newRand(t)
			l := enginePair(t, mods, nil, nil)
			stream := make([]byte, 1<<20)
			for i := range stream {
				stream[i] = byte(rng.IntN(256))
			}
			var got []byte
			cipher := make([]byte, 20000)
			plain := make([]byte, 16384)
			off, wantWrites := 0, 0
			for i := 0; len(got) < len(stream); i++ {
				require.Less(t, i, 1<<20, "transfer never ends")
				if off < len(stream) {
					// Each offer has its own length, as a socket writer's would:
					// after ErrWantWrite nothing is owed to the engine.
					end := min(len(stream), off+1+rng.IntN(64<<10))
					n, err := l.c.Write(stream[off:end])
					if errors.Is(err, ErrWantWrite) {
						require.Zero(t, n)
						wantWrites++
					} else {
						require.NoError(t, err)
						require.Positive(t, n)
					}
					off += n
				}
				// Drain a random, often partial, piece; the server reads it all.
				k, err := l.c.Drain(cipher[:1+rng.IntN(len(cipher)-1)])
				require.NoError(t, err)
				for fed := 0; fed < k; {
					m, err := l.s.Feed(cipher[fed:k])
					require.NoError(t, err)
					fed += m
					for {
						r, err := l.s.Read(plain)
						if err != nil {
							require.ErrorIs(t, err, ErrWantRead)
							break
						}
						got = append(got, plain[:r]...)
					}
				}
			}
			require.Positive(t, wantWrites, "the output never filled up: nothing was tested")
			require.True(t, bytes.Equal(stream, got), "stream corrupted")
		})
	}
}
