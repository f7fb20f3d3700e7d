package memory_test

import (
	"testing"

	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/store/memory"
	"github.com/mqgate/mqgate/core/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memory.New() })
}
