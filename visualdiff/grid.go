package visualdiff

import "image"

// grid groups changed pixels into square cells of MergeDistance pixels and
// cells into components: a cell joins its eight neighbours, so pixels less
// than a cell apart always share a component, and pixels two cells apart
// only through changed cells between them. Cells keep the exact bounding box
// of their pixels, so component boxes are tight.
type grid struct {
	s, cw int
	// index maps a cell, row-major, to 1 + its position in cells; 0 if the
	// cell holds no changed pixel.
	index []int32
	cells []cell
	// comp maps a position in cells to its component, after components.
	comp []int32
}

// cell is a cell holding changed pixels.
type cell struct {
	cx, cy         int32
	n              int
	x0, y0, x1, y1 int32
	size           bool
}

// component is a connected set of cells.
type component struct {
	n   int
	box image.Rectangle
	// size is true when the component holds pixels of a size change.
	size bool
	// kept is true when the component is reported.
	kept bool
}

func newGrid(w, h, s int) grid {
	cw, ch := (w+s-1)/s, (h+s-1)/s
	return grid{s: s, cw: cw, index: make([]int32, cw*ch)}
}

// row returns the index row of the cells holding pixel row y.
func (g *grid) row(y int) []int32 {
	o := (y / g.s) * g.cw
	return g.index[o : o+g.cw : o+g.cw]
}

// add adds the changed pixel (x, y); row is g.row(y).
func (g *grid) add(row []int32, x, y int, size bool) {
	cx := x / g.s
	k := row[cx]
	if k == 0 {
		g.cells = append(g.cells, cell{
			cx: int32(cx), cy: int32(y / g.s), n: 1,
			x0: int32(x), y0: int32(y), x1: int32(x + 1), y1: int32(y + 1), size: size,
		})
		row[cx] = int32(len(g.cells))
		return
	}
	c := &g.cells[k-1]
	c.n++
	c.x0, c.y0 = min(c.x0, int32(x)), min(c.y0, int32(y))
	c.x1, c.y1 = max(c.x1, int32(x+1)), max(c.y1, int32(y+1))
	c.size = c.size || size
}

// at returns the position in cells of cell (cx, cy), or -1.
func (g *grid) at(cx, cy int32) int32 {
	if cx < 0 || cy < 0 || int(cx) >= g.cw {
		return -1
	}
	return g.index[int(cy)*g.cw+int(cx)] - 1
}

// components joins neighbouring cells with union-find and returns the
// components; g.comp maps each cell to its component.
func (g *grid) components() []component {
	parent := make([]int32, len(g.cells))
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(i int32) int32 {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i, c := range g.cells {
		// The neighbours already seen in row-major order.
		for _, o := range [4][2]int32{{-1, 0}, {-1, -1}, {0, -1}, {1, -1}} {
			if j := g.at(c.cx+o[0], c.cy+o[1]); j >= 0 {
				if ri, rj := find(int32(i)), find(j); ri != rj {
					parent[max(ri, rj)] = min(ri, rj)
				}
			}
		}
	}
	g.comp = make([]int32, len(g.cells))
	var comps []component
	for i, c := range g.cells {
		r := find(int32(i))
		box := image.Rect(int(c.x0), int(c.y0), int(c.x1), int(c.y1))
		if r == int32(i) {
			g.comp[i] = int32(len(comps))
			comps = append(comps, component{n: c.n, box: box, size: c.size})
			continue
		}
		// Roots are the smallest position of their component, so r was
		// seen before i.
		k := g.comp[r]
		g.comp[i] = k
		p := &comps[k]
		p.n += c.n
		p.box = p.box.Union(box)
		p.size = p.size || c.size
	}
	return comps
}
