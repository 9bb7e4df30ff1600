//! Disjoint sets with path halving and union by size.

/// A partition of `0..n` into disjoint sets.
#[derive(Clone, Debug)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    /// `n` singletons.
    ///
    /// # Panics
    /// When `n` does not fit in `u32`.
    #[must_use]
    pub fn new(n: usize) -> Self {
        let n32 = u32::try_from(n).expect("at most u32::MAX elements");
        Self { parent: (0..n32).collect(), size: vec![1; n] }
    }

    /// The representative of `x`'s set.
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] as usize != x {
            let p = self.parent[x] as usize;
            self.parent[x] = self.parent[p];
            x = p;
        }
        x
    }

    /// Joins the sets of `a` and `b`; returns the new representative, or `None` when they were
    /// already one set.
    pub fn union(&mut self, a: usize, b: usize) -> Option<usize> {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return None;
        }
        if self.size[ra] < self.size[rb] {
            std::mem::swap(&mut ra, &mut rb);
        }
        // Indices below n, which fits in u32 (checked in new).
        #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
        {
            self.parent[rb] = ra as u32;
        }
        self.size[ra] += self.size[rb];
        Some(ra)
    }

    /// Size of `x`'s set.
    pub fn set_size(&mut self, x: usize) -> usize {
        let r = self.find(x);
        self.size[r] as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_join_and_count() {
        let mut uf = UnionFind::new(6);
        assert!(uf.union(0, 1).is_some());
        assert!(uf.union(2, 3).is_some());
        assert!(uf.union(1, 3).is_some());
        assert!(uf.union(0, 2).is_none());
        assert_eq!(uf.find(0), uf.find(3));
        assert_ne!(uf.find(0), uf.find(4));
        assert_eq!(uf.set_size(2), 4);
        assert_eq!(uf.set_size(5), 1);
    }
}
