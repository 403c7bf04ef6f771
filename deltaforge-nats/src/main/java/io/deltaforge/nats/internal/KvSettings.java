package io.deltaforge.nats.internal;

/**
 * A {@code nats_kv} sink's settings.
 *
 * @param connection     how to connect (url, auth, TLS, send timeout); its subject and stream are unused
 * @param bucket         the KV bucket
 * @param keys           how rows become keys
 * @param purgeOnDelete  a deleted row's key is purged (history dropped) instead of marked deleted
 * @param createBucket   create the bucket at start when it is missing
 * @param history        values kept per key in a created bucket (1 to 64)
 */
public record KvSettings(NatsSinkSettings connection, String bucket, KvKeys keys, boolean purgeOnDelete,
                         boolean createBucket, int history) {
    public String id() {
        return connection.id();
    }

    String streamName() {
        return "KV_" + bucket;
    }

    String subject(String key) {
        return "$KV." + bucket + "." + key;
    }
}
