package fakes

import "sync"

// AtOnce calls f(0) to f(n-1), each in its own goroutine, all released
// together so that they overlap as simultaneous requests do, and returns
// when every call has returned.
func AtOnce(n int, f func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i)
		}()
	}
	close(start)
	wg.Wait()
}
