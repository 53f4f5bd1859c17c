package org.egressgw.control.explain;

import java.util.List;

/** Left-aligned columns separated by three spaces, as {@code cilium-dbg} prints its tables. */
final class TextTable {
    private TextTable() {
    }

    static String render(List<String> header, List<List<String>> rows) {
        int[] width = new int[header.size()];
        for (int c = 0; c < width.length; c++) {
            width[c] = header.get(c).length();
            for (List<String> r : rows) {
                width[c] = Math.max(width[c], r.get(c).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        line(sb, header, width);
        for (List<String> r : rows) {
            line(sb, r, width);
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, List<String> cells, int[] width) {
        StringBuilder l = new StringBuilder();
        for (int c = 0; c < cells.size(); c++) {
            l.append(cells.get(c));
            if (c < cells.size() - 1) {
                l.append(" ".repeat(width[c] - cells.get(c).length() + 3));
            }
        }
        sb.append(l.toString().stripTrailing()).append('\n');
    }
}
