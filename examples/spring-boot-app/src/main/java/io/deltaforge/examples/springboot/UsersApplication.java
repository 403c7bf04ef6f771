package io.deltaforge.examples.springboot;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A Spring Boot application whose only DeltaForge code is configuration: the starter builds the pipeline of
 * {@code pipeline.yaml} (see {@code application.properties}), starts it with the application, reports it in
 * {@code /actuator/health}, controls it through {@code /actuator/deltaforge} and drains it on shutdown.
 *
 * <p>Run it against {@code ./dev.sh demo}'s PostgreSQL and NATS (README, "Spring Boot").
 */
@SpringBootApplication
public class UsersApplication {
    public static void main(String[] args) {
        SpringApplication.run(UsersApplication.class, args);
    }
}
