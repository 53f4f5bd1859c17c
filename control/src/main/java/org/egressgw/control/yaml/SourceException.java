package org.egressgw.control.yaml;

/**
 * Bad input in a configuration or cluster file: names the file, the 1-based line and what is wrong.
 * The message is {@code file:line: reason}, or {@code file: reason} when the problem concerns the
 * whole file ({@link #line()} is 0 then, e.g. the file is not UTF-8 text).
 */
public final class SourceException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String file;
    private final int line;
    private final String reason;

    /**
     * @param file the file as the user named it (or a display name for in-memory text)
     * @param line 1-based line, or 0 for the whole file
     * @param reason what is wrong, usually prefixed with the field path
     */
    public SourceException(String file, int line, String reason) {
        super(format(file, line, reason));
        this.file = file;
        this.line = line;
        this.reason = reason;
    }

    /** {@code file:line: reason}, or {@code file: reason} when {@code line} is 0. */
    public static String format(String file, int line, String reason) {
        return line > 0 ? file + ":" + line + ": " + reason : file + ": " + reason;
    }

    public String file() {
        return file;
    }

    /** 1-based line, or 0 when the problem concerns the whole file. */
    public int line() {
        return line;
    }

    public String reason() {
        return reason;
    }
}
