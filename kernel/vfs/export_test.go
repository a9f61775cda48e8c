package vfs

// CachedChildren returns how many children d has cached, for tests.
func CachedChildren(d *Dentry) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.children)
}
