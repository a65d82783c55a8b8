package main

import (
	"fmt"
	"time"
)

type soakConfig struct {
	duration time.Duration
	workers  int
	paid     int
}

func (e *env) runSoak() error { return fmt.Errorf("not yet") }
