package org.egressgw.core.host;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a port range into the fewest (value, mask) blocks that a tc u32 match can express,
 * e.g. 32768-65535 is the single block (0x8000, 0x8000).
 */
final class PortBlocks {
    private PortBlocks() {
    }

    /** Returns {value, mask} pairs whose union is exactly [low, high]. */
    static List<int[]> of(int low, int high) {
        List<int[]> out = new ArrayList<>();
        long lo = low;
        while (lo <= high) {
            int size = 1;
            // grow the block while it stays aligned and inside the range
            while ((lo & (size * 2L - 1)) == 0 && lo + size * 2L - 1 <= high && size < 65536) {
                size *= 2;
            }
            out.add(new int[] {(int) lo, 0xffff & ~(size - 1)});
            lo += size;
        }
        return out;
    }
}
