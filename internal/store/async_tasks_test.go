package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/internal/store/storetest"
)

func TestAsyncTasksRecords(t *testing.T) {
	ctx, conn := storetest.Conn(t)
	tasks, err := store.OpenAsyncTasks(ctx, conn.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	task := func(id string) *fc.AsyncTask {
		return &fc.AsyncTask{ServiceName: "s", Qualifier: fc.LATEST, FunctionName: "f", InvocationID: id, Status: fc.TaskEnqueued}
	}
	if err := tasks.CreateTask(ctx, task("a")); err != nil {
		t.Fatal(err)
	}
	if err := tasks.CreateTask(ctx, task("a")); !errors.Is(err, fc.ErrAlreadyExists) {
		t.Fatalf("second create: %v, want ErrAlreadyExists", err)
	}
	if err := tasks.CreateTask(ctx, task("a.b")); err == nil {
		t.Fatal("an id with a dot was stored")
	}
	if _, err := tasks.GetTask(ctx, "s", fc.LATEST, "f", "zz"); !errors.Is(err, fc.ErrNotFound) {
		t.Fatalf("get of a missing task: %v", err)
	}

	// Concurrent read-modify-writes all land (compare and swap).
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := tasks.ModifyTask(ctx, "s", fc.LATEST, "f", "a", func(t *fc.AsyncTask) bool {
				t.Events = append(t.Events, fc.TaskEvent{EventID: int64(i)})
				return true
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := tasks.GetTask(ctx, "s", fc.LATEST, "f", "a")
	if err != nil || len(got.Events) != 8 {
		t.Fatalf("after 8 concurrent updates: %d events, %v", len(got.Events), err)
	}

	// A deleted record is not listed, and its id can be used again.
	for i := range 5 {
		if err := tasks.CreateTask(ctx, task(fmt.Sprintf("t%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := tasks.DeleteTask(ctx, "s", fc.LATEST, "f", "t1"); err != nil {
		t.Fatal(err)
	}
	all := func(context.Context) []string {
		var ids []string
		var start uint64
		for {
			page, next, err := tasks.ListTasks(ctx, "s", fc.LATEST, "f", start, 2, func(*fc.AsyncTask) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			for _, tk := range page {
				ids = append(ids, tk.InvocationID)
			}
			if next == 0 {
				return ids
			}
			start = next
		}
	}
	if ids := fmt.Sprint(all(ctx)); ids != "[a t0 t2 t3 t4]" {
		t.Fatalf("listed %s", ids)
	}
	if err := tasks.CreateTask(ctx, task("t1")); err != nil {
		t.Fatalf("create after delete: %v", err)
	}
	page, next, err := tasks.ListTasks(ctx, "s", fc.LATEST, "other", 0, 10, func(*fc.AsyncTask) bool { return true })
	if err != nil || len(page) != 0 || next != 0 {
		t.Fatalf("another function's list: %v %d %v", page, next, err)
	}
}
