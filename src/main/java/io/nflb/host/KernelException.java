package io.nflb.host;

/**
 * The kernel (or its tool) refused a change, or did not end up holding what was applied. {@link #line()} is
 * the 1-based line of the transaction the tool blamed (0 when it named none), {@link #lineText()} that line.
 */
public final class KernelException extends RuntimeException {

    private final String toolOutput;
    private final int line;
    private final String lineText;

    public KernelException(String message, String toolOutput, int line, String lineText) {
        super(message);
        this.toolOutput = toolOutput;
        this.line = line;
        this.lineText = lineText;
    }

    public KernelException(String message) {
        this(message, "", 0, "");
    }

    public String toolOutput() {
        return toolOutput;
    }

    public int line() {
        return line;
    }

    public String lineText() {
        return lineText;
    }
}
