package host

import "sync"

// DefaultParallelism is how many hosts fencer plans, applies or verifies
// at once unless -parallelism says otherwise.
const DefaultParallelism = 10

// Each calls fn(i) for every i from 0 to n-1, each in a goroutine of its
// own, at most parallelism at a time (DefaultParallelism when parallelism
// is 0 or less), and returns once every call has returned. It is the one
// fan-out over hosts: plan, apply and verify work on hosts through it.
func Each(n, parallelism int, fn func(i int)) {
	if parallelism <= 0 {
		parallelism = DefaultParallelism
	}
	sem := make(chan struct{}, parallelism)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}
