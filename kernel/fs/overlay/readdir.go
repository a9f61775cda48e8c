package overlay

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// Readdir positions: 0 is ".", 1 is "..", then the upper part (the
// upper directory's position p is upperPart|p) and the lower part
// (lowerPart|i, i an index in the lower listing, which never changes). A
// listing resumes inside the part it was left in, at a position that
// means the same whatever comes and goes, so no name shows twice and
// none is skipped. A name never changes part while it keeps its object:
// an entry copied up in place stays in the lower part.
const (
	upperPart = 1 << 61
	lowerPart = 1 << 62
	// layerPosMax bounds the upper layer's cookies (tmpfs's count up
	// from 2).
	layerPosMax = 1 << 61
)

// batchSize is how many entries Readdir takes at a time. The upper
// layer calls back holding its own locks, so its entries are collected
// first and merged (under d.mu) after; the caller's emit is called with
// no lock held.
const batchSize = 64

// Readdir implements vfs.DirInode: the upper directory's names that are
// not copies of lower ones, then the lower directory's names that are
// not whited out.
func (d *dir) Readdir(ctx *vfs.Context, pos int64, emit func(vfs.Dirent) bool) error {
	if pos < 0 {
		return unix.EINVAL
	}
	if pos == 0 {
		if !emit(vfs.Dirent{Name: ".", Ino: d.ino, Type: unix.DT_DIR, Next: 1}) {
			return nil
		}
		pos = 1
	}
	if pos == 1 {
		ino := d.ino
		if p := d.parent.Load(); p != nil {
			ino = p.ino
		}
		if !emit(vfs.Dirent{Name: "..", Ino: ino, Type: unix.DT_DIR, Next: upperPart}) {
			return nil
		}
		pos = upperPart
	}
	if pos < lowerPart {
		if u := d.upperInode(); u != nil {
			ud, ok := u.(vfs.DirInode)
			if !ok {
				return unix.ENOTDIR
			}
			more, err := d.readUpper(ctx, ud, max(pos-upperPart, 0), emit)
			if err != nil || !more {
				return err
			}
		}
		pos = lowerPart
	}
	return d.readLower(ctx, pos-lowerPart, emit)
}

// readUpper lists the upper part from the upper directory's position p,
// and reports whether the directory ended (rather than emit).
func (d *dir) readUpper(ctx *vfs.Context, ud vfs.DirInode, p int64, emit func(vfs.Dirent) bool) (bool, error) {
	batch := make([]vfs.Dirent, 0, batchSize)
	var out []vfs.Dirent
	for {
		batch = batch[:0]
		if err := ud.Readdir(ctx, p, func(e vfs.Dirent) bool {
			batch = append(batch, e)
			return len(batch) < batchSize
		}); err != nil {
			return false, err
		}
		for _, e := range batch {
			if e.Next < 0 || e.Next >= layerPosMax {
				return false, unix.EOVERFLOW
			}
		}
		out = d.mergeUpper(batch, out[:0])
		for _, e := range out {
			if !emit(e) {
				return false, nil
			}
		}
		if len(batch) < batchSize {
			return true, nil
		}
		p = batch[len(batch)-1].Next
	}
}

// mergeUpper appends to out the upper entries of batch that are not
// copies of lower ones (those show in the lower part), with the overlay's
// inode numbers and positions.
func (d *dir) mergeUpper(batch []vfs.Dirent, out []vfs.Dirent) []vfs.Dirent {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range batch {
		if e.Name == "." || e.Name == ".." || d.marks[e.Name] == markCopied {
			continue
		}
		ino := e.Ino | upperInoBit
		if c := d.children[e.Name]; c != nil {
			ino = c.ino
		}
		out = append(out, vfs.Dirent{Name: e.Name, Ino: ino, Type: e.Type, Next: upperPart | e.Next})
	}
	return out
}

// readLower lists the lower part from index i of the lower listing.
func (d *dir) readLower(ctx *vfs.Context, i int64, emit func(vfs.Dirent) bool) error {
	var out []vfs.Dirent
	for {
		d.mu.Lock()
		all, err := d.lowerListLocked(ctx)
		if err != nil {
			d.mu.Unlock()
			return err
		}
		out = out[:0]
		for ; i < int64(len(all)) && len(out) < batchSize; i++ {
			e := all[i]
			if d.marks[e.Name] == markWhiteout {
				continue
			}
			if c := d.children[e.Name]; c != nil {
				e.Ino = c.ino
			}
			e.Next = lowerPart | (i + 1)
			out = append(out, e)
		}
		d.mu.Unlock()
		if len(out) == 0 {
			return nil
		}
		for _, e := range out {
			if !emit(e) {
				return nil
			}
		}
	}
}

// lowerListLocked returns the lower directory's entries ("." and ".."
// left out), read once and kept: the lower layer never changes. d.mu
// held.
func (d *dir) lowerListLocked(ctx *vfs.Context) ([]vfs.Dirent, error) {
	ld := d.lowerDir()
	if ld == nil || d.listed {
		return d.lowerList, nil
	}
	var all []vfs.Dirent
	if err := ld.Readdir(ctx, 0, func(e vfs.Dirent) bool {
		if e.Name != "." && e.Name != ".." {
			all = append(all, vfs.Dirent{Name: e.Name, Ino: e.Ino, Type: e.Type})
		}
		return true
	}); err != nil {
		return nil, err
	}
	d.lowerList, d.listed = all, true
	return all, nil
}

// checkEmptyLocked fails with ENOTEMPTY unless the directory is empty in
// the merged view, d.mu held.
func (d *dir) checkEmptyLocked(ctx *vfs.Context) error {
	empty := true
	if u := d.upperInode(); u != nil {
		ud, ok := u.(vfs.DirInode)
		if !ok {
			return unix.ENOTDIR
		}
		// Every upper name shows.
		if err := ud.Readdir(ctx, 0, func(e vfs.Dirent) bool {
			empty = e.Name == "." || e.Name == ".."
			return empty
		}); err != nil {
			return err
		}
	}
	if !empty {
		return unix.ENOTEMPTY
	}
	all, err := d.lowerListLocked(ctx)
	if err != nil {
		return err
	}
	for _, e := range all {
		if d.marks[e.Name] != markWhiteout {
			return unix.ENOTEMPTY
		}
	}
	return nil
}
