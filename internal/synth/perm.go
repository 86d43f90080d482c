package synth

import (
	"math/bits"
	"math/rand/v2"
)

// perm is a keyed pseudo-random permutation of [0, n): a four-round Feistel
// network on the smallest even number of bits that holds n, walking the cycle
// until the result is below n. It turns a counter into distinct values that
// do not look sequential.
type perm struct {
	n    uint64
	half uint
	keys [4]uint64
}

func newPerm(n uint64, rng *rand.Rand) perm {
	b := uint(bits.Len64(n - 1))
	b += b % 2
	p := perm{n: n, half: max(b/2, 1)}
	for i := range p.keys {
		p.keys[i] = rng.Uint64()
	}
	return p
}

// at returns the image of i mod n.
func (p perm) at(i uint64) uint64 {
	x := i % p.n
	for {
		x = p.feistel(x)
		if x < p.n {
			return x
		}
	}
}

func (p perm) feistel(x uint64) uint64 {
	mask := uint64(1)<<p.half - 1
	l, r := x>>p.half, x&mask
	for _, k := range p.keys {
		l, r = r, l^(mix(r^k)&mask)
	}
	return l<<p.half | r
}

// mix is the splitmix64 finaliser.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
