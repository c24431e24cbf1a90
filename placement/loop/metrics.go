package loop

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// The loop's metrics, registered on Options.Registry.
type loopMetrics struct {
	rounds      *prometheus.CounterVec
	phase       *prometheus.HistogramVec
	moves       prometheus.Counter
	violations  prometheus.Counter
	unplaceable prometheus.Counter
	errors      prometheus.Counter
	objective   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*loopMetrics, error) {
	m := &loopMetrics{
		rounds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "continuum_loop_rounds_total", Help: "Rounds of the OODA loop, by trigger kind and decision.",
		}, []string{"trigger", "decision"}),
		phase: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "continuum_loop_phase_seconds", Help: "Time a round spent observing, deciding and acting, on the loop's clock.",
			Buckets: []float64{0.001, 0.01, 0.1, 1, 10, 60, 300, 1800},
		}, []string{"phase"}),
		moves: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "continuum_loop_migrations_total", Help: "Replicas moved to another cluster by the loop.",
		}),
		violations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "continuum_loop_violations_total", Help: "Rounds that saw the placement in force break a constraint.",
		}),
		unplaceable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "continuum_loop_unplaceable_total", Help: "Rounds in which some replica fit nowhere.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "continuum_loop_round_errors_total", Help: "Rounds that failed.",
		}),
		objective: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "continuum_loop_objective", Help: "Objective of the placement in force after the last round that priced it.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.rounds, m.phase, m.moves, m.violations, m.unplaceable, m.errors, m.objective} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("loop: options.registry: %w", err)
		}
	}
	return m, nil
}

func (m *loopMetrics) record(r *Round) {
	kind := "full"
	if r.Trigger == "watch" {
		kind = "watch"
	}
	m.rounds.WithLabelValues(kind, string(r.Decision.Kind)).Inc()
	m.phase.WithLabelValues("observe").Observe(r.Observe.Seconds())
	m.phase.WithLabelValues("decide").Observe(r.Decide.Seconds())
	m.phase.WithLabelValues("act").Observe(r.Act.Seconds())
	if r.Err == nil && r.Plan != nil {
		m.moves.Add(float64(r.Decision.Moves))
	}
	if len(r.Decision.Violations) > 0 {
		m.violations.Inc()
	}
	switch r.Decision.Kind {
	case DecideUnplaceable, DecideProvision:
		m.unplaceable.Inc()
	}
	if r.Err != nil {
		m.errors.Inc()
	}
	if r.Decision.Objective > 0 {
		m.objective.Set(r.Decision.Objective)
	}
}
