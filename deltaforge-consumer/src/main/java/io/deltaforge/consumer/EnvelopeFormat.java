package io.deltaforge.consumer;

/** Which envelope a message was written with; the consumer tells them apart by headers and shape. */
public enum EnvelopeFormat {
    /** CloudEvents, structured mode: {@code Content-Type: application/cloudevents+json}, attributes in the body. */
    CLOUDEVENTS_STRUCTURED,
    /** CloudEvents, binary mode: attributes as {@code ce-*} headers, the data alone as the body. */
    CLOUDEVENTS_BINARY,
    /** DeltaForge's {@code native} envelope. */
    NATIVE,
    /** The {@code debezium} envelope (with or without the schema wrapper). */
    DEBEZIUM
}
