package host

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestEach checks that Each calls fn once for every index, never more at
// a time than asked, and DefaultParallelism at a time when asked for none.
func TestEach(t *testing.T) {
	for _, tc := range []struct{ n, parallelism, most int }{
		{0, 3, 0}, {1, 3, 1}, {7, 3, 3}, {25, 0, DefaultParallelism}, {25, -1, DefaultParallelism}, {4, 1, 1},
	} {
		var mu sync.Mutex
		seen := map[int]int{}
		var running, most atomic.Int32
		Each(tc.n, tc.parallelism, func(i int) {
			now := running.Add(1)
			for {
				m := most.Load()
				if now <= m || most.CompareAndSwap(m, now) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
			mu.Lock()
			seen[i]++
			mu.Unlock()
		})
		if len(seen) != tc.n {
			t.Errorf("n=%d: called for %d indexes", tc.n, len(seen))
		}
		for i, c := range seen {
			if i < 0 || i >= tc.n || c != 1 {
				t.Errorf("n=%d: index %d called %d times", tc.n, i, c)
			}
		}
		if m := int(most.Load()); m > tc.most {
			t.Errorf("n=%d parallelism=%d: %d at a time, want at most %d", tc.n, tc.parallelism, m, tc.most)
		}
	}
}
