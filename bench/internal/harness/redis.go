package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a redis-server started by the bench.
type Redis struct {
	Port   int
	Cmd    *exec.Cmd
	Client *redis.Client // database 0
}

// URL is the server's URL for database db.
func (r *Redis) URL(db int) string { return fmt.Sprintf("redis://127.0.0.1:%d/%d", r.Port, db) }

// DB is a client of database db.
func (r *Redis) DB(db int) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.Port), DB: db})
}

// StartRedis starts a fresh redis-server on a free port, with no
// persistence unless aof; cpus pins it (see Spec.CPUs).
func (p *Procs) StartRedis(name, cpus string, aof bool) (*Redis, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir := p.Path(name + "-data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	appendonly := "no"
	if aof {
		appendonly = "yes"
	}
	cmd, err := p.Start(Spec{Name: name, CPUs: cpus, Args: []string{"redis-server",
		"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
		"--appendonly", appendonly, "--appendfsync", "everysec", "--daemonize", "no", "--logfile", ""}})
	if err != nil {
		return nil, err
	}
	r := &Redis{Port: port, Cmd: cmd}
	r.Client = r.DB(0)
	for range 200 {
		if r.Client.Ping(context.Background()).Err() == nil {
			return r, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("redis-server did not start\n%s", p.Tail(name))
}
