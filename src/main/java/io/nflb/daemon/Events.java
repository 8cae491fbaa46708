package io.nflb.daemon;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/** The last few things the daemon did or failed to do, newest last, for the status page. Thread-safe. */
public final class Events {

    public enum Level { INFO, WARN, ERROR }

    public record Event(Instant at, Level level, String message) {
    }

    private final int capacity;
    private final Deque<Event> events = new ArrayDeque<>();

    public Events(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be positive");
        this.capacity = capacity;
    }

    public synchronized void add(Level level, String message) {
        if (events.size() == capacity) events.removeFirst();
        events.addLast(new Event(Instant.now(), level, message));
    }

    public synchronized List<Event> list() {
        return new ArrayList<>(events);
    }
}
