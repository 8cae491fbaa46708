package io.nflb.daemon;

/** One backend of one service, as the daemon tracks it: the same endpoint in two services is two backends. */
public record BackendKey(String service, String endpoint) {

    @Override
    public String toString() {
        return service + " -> " + endpoint;
    }
}
