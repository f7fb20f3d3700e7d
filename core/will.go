package core

// SetWill replaces the will of the connected client's session; nil deletes
// it. MQTT sets the will only in CONNECT, but MQTT-SN updates it at any time
// (WILLTOPICUPD, WILLMSGUPD), so the adapter needs to change it after
// Connect. It reports false on a stale handle.
func (c *Client) SetWill(w *Will) bool {
	if !c.lock() {
		return false
	}
	c.s.will = w
	c.s.persistWillLocked()
	c.s.mu.Unlock()
	return true
}
