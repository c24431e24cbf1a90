package main

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkSideBySide places the same generated instances with OCM's scheduler (one
// Schedule per component) and with continuum's engine (one Place for all), reported as
// time per component placed ("us/component"). The command (go run .) interleaves the
// two and takes medians; these are the plain go test benchmarks of each.
func BenchmarkSideBySide(b *testing.B) {
	for _, sz := range []size{{100, 10}, {1000, 100}} {
		inst := newInstance(sz.clusters, sz.components)
		n := float64(len(inst.components))
		name := fmt.Sprintf("clusters=%d/components=%d", sz.clusters, sz.components)
		b.Run(name+"/scheduler=ocm", func(b *testing.B) {
			b.ReportAllocs()
			var spent time.Duration
			for b.Loop() {
				_, d, err := inst.ocm(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				spent += d
			}
			// Schedule calls only, not the allocatable bookkeeping between them.
			b.ReportMetric(float64(spent.Microseconds())/float64(b.N)/n, "us/component")
		})
		b.Run(name+"/scheduler=continuum", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := inst.continuum(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "us/component")
		})
	}
}
