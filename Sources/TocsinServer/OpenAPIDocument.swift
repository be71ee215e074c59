import TocsinCore

/// The OpenAPI 3.0 document of Tocsin's HTTP API, served at `GET /api/v1/openapi.yaml`. OpenAPIDocumentTests keep it
/// true: every operation here is a registered endpoint with the same access, and every endpoint is here; schemathesis
/// checks the server's answers against it.
enum OpenAPIDocument {
    /// The categories as the model knows them, so that the document cannot fall behind a new one.
    private static let categoryList = Category.allCases.map(\.rawValue).joined(separator: ", ")

    static let yaml = #"""
        openapi: 3.0.3
        info:
          title: Tocsin HTTP API
          version: "1"
          description: >-
            Tocsin's HTTP API: ingest of alerts, notifications, logs and metrics; queries of alerts, events and deliveries;
            noise control; integrations and routing; access control. docs/api.md describes the semantics. Every operation
            names the role it needs in x-tocsin-access (public, ingest, viewer, editor or admin); with authentication off
            (the default on a loopback address) every operation is open.
        servers:
          - url: /
        security:
          - bearerToken: []
          - sessionCookie: []
          - {}
        tags:
          - name: ingest
          - name: queries
          - name: noise
          - name: integrations
          - name: routing
          - name: access
          - name: health
        paths:
          /api/v1/events:
            post:
              tags: [ingest]
              operationId: postEvents
              summary: Send alerts and notifications (native API).
              x-tocsin-access: ingest
              parameters:
                - $ref: "#/components/parameters/IdempotencyKey"
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      oneOf:
                        - $ref: "#/components/schemas/EventInput"
                        - type: array
                          minItems: 1
                          items:
                            $ref: "#/components/schemas/EventInput"
              responses:
                "202":
                  description: Stored durably, with what processing did.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/IngestAnswer"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
                "503":
                  $ref: "#/components/responses/Error"
            get:
              tags: [queries]
              operationId: getEvents
              summary: The event history, newest first.
              x-tocsin-access: viewer
              parameters:
                - $ref: "#/components/parameters/Limit"
                - $ref: "#/components/parameters/Before"
              responses:
                "200":
                  description: A page of events.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [events]
                        properties:
                          events:
                            type: array
                            items:
                              type: object
                              required: [sequence, outcome, integrations, event]
                              properties:
                                sequence:
                                  type: integer
                                outcome:
                                  type: string
                                integrations:
                                  type: array
                                  items:
                                    type: string
                                event:
                                  $ref: "#/components/schemas/StoredEvent"
                          next:
                            type: integer
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
          /api/v1/logs:
            post:
              tags: [ingest]
              operationId: postLogs
              summary: Send log records (JSON array, one object, or NDJSON), stored as one batch.
              x-tocsin-access: ingest
              parameters:
                - $ref: "#/components/parameters/IdempotencyKey"
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      oneOf:
                        - $ref: "#/components/schemas/LogRecordInput"
                        - type: array
                          items:
                            $ref: "#/components/schemas/LogRecordInput"
                  application/x-ndjson:
                    schema:
                      type: string
              responses:
                "202":
                  description: The batch is stored.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/RecordsAnswer"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
                "503":
                  $ref: "#/components/responses/Error"
          /api/v1/metrics:
            post:
              tags: [ingest]
              operationId: postMetrics
              summary: Send metric samples (JSON array, one object, or NDJSON), stored as one batch; they feed the detectors.
              x-tocsin-access: ingest
              parameters:
                - $ref: "#/components/parameters/IdempotencyKey"
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      oneOf:
                        - $ref: "#/components/schemas/MetricSampleInput"
                        - type: array
                          items:
                            $ref: "#/components/schemas/MetricSampleInput"
                  application/x-ndjson:
                    schema:
                      type: string
              responses:
                "202":
                  description: The batch is stored.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/RecordsAnswer"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
                "503":
                  $ref: "#/components/responses/Error"
          /api/v2/alerts:
            post:
              tags: [ingest]
              operationId: postAlertmanagerAlerts
              summary: Alerts as Prometheus sends them to Alertmanager.
              x-tocsin-access: ingest
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: array
                      items:
                        $ref: "#/components/schemas/AlertmanagerAlert"
              responses:
                "200":
                  description: Stored; the body is empty, as Alertmanager answers.
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
                "503":
                  $ref: "#/components/responses/Error"
          /api/v1/alerts:
            get:
              tags: [queries]
              operationId: getAlerts
              summary: Open alerts, newest first.
              x-tocsin-access: viewer
              parameters:
                - name: category
                  in: query
                  schema:
                    $ref: "#/components/schemas/Category"
                - name: severity
                  in: query
                  schema:
                    $ref: "#/components/schemas/Severity"
                - name: label
                  in: query
                  description: name=value; may be repeated, all must match.
                  schema:
                    type: array
                    items:
                      type: string
                  style: form
                  explode: true
                - $ref: "#/components/parameters/Limit"
              responses:
                "200":
                  description: The open alerts.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [alerts]
                        properties:
                          alerts:
                            type: array
                            items:
                              $ref: "#/components/schemas/Alert"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
          /api/v1/alerts/{fingerprint}/ack:
            post:
              tags: [noise]
              operationId: acknowledgeAlert
              summary: Acknowledge an open alert on every integration.
              x-tocsin-access: editor
              parameters:
                - name: fingerprint
                  in: path
                  required: true
                  schema:
                    type: string
              requestBody:
                content:
                  application/json:
                    schema:
                      $ref: "#/components/schemas/AcknowledgeInput"
              responses:
                "200":
                  description: Acknowledged.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/Acknowledged"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "404":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
          /api/v1/groups/{key}/ack:
            post:
              tags: [noise]
              operationId: acknowledgeGroup
              summary: Acknowledge every firing alert of a group.
              x-tocsin-access: editor
              parameters:
                - name: key
                  in: path
                  required: true
                  schema:
                    type: string
              requestBody:
                content:
                  application/json:
                    schema:
                      $ref: "#/components/schemas/AcknowledgeInput"
              responses:
                "200":
                  description: Acknowledged.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/Acknowledged"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "404":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
          /api/v1/groups:
            get:
              tags: [noise]
              operationId: getGroups
              summary: Alert groups with their members.
              x-tocsin-access: viewer
              responses:
                "200":
                  description: The groups.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [groups]
                        properties:
                          groups:
                            type: array
                            items:
                              $ref: "#/components/schemas/AlertGroup"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
          /api/v1/silences:
            post:
              tags: [noise]
              operationId: createSilence
              summary: Create a silence or a recurring maintenance window.
              x-tocsin-access: editor
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      $ref: "#/components/schemas/SilenceInput"
              responses:
                "201":
                  description: Created.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/SilenceAnswer"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
            get:
              tags: [noise]
              operationId: getSilences
              summary: Silences; by default those not expired.
              x-tocsin-access: viewer
              parameters:
                - name: state
                  in: query
                  schema:
                    type: string
                    enum: [active, pending, expired, all]
              responses:
                "200":
                  description: The silences.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [silences]
                        properties:
                          silences:
                            type: array
                            items:
                              $ref: "#/components/schemas/Silence"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
          /api/v1/silences/{id}:
            get:
              tags: [noise]
              operationId: getSilence
              summary: One silence.
              x-tocsin-access: viewer
              parameters:
                - $ref: "#/components/parameters/SilenceID"
              responses:
                "200":
                  description: The silence.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/SilenceAnswer"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "404":
                  $ref: "#/components/responses/Error"
            delete:
              tags: [noise]
              operationId: expireSilence
              summary: Expire a silence now.
              x-tocsin-access: editor
              parameters:
                - $ref: "#/components/parameters/SilenceID"
              responses:
                "200":
                  description: Expired.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/SilenceAnswer"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "404":
                  $ref: "#/components/responses/Error"
          /api/v1/deliveries:
            get:
              tags: [queries]
              operationId: getDeliveries
              summary: Deliveries, newest first.
              x-tocsin-access: viewer
              parameters:
                - name: status
                  in: query
                  schema:
                    $ref: "#/components/schemas/DeliveryStatus"
                - name: integration
                  in: query
                  schema:
                    type: string
                - $ref: "#/components/parameters/Limit"
                - $ref: "#/components/parameters/Before"
              responses:
                "200":
                  description: A page of deliveries.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [deliveries]
                        properties:
                          deliveries:
                            type: array
                            items:
                              type: object
                              required: [sequence, delivery]
                              properties:
                                sequence:
                                  type: integer
                                delivery:
                                  $ref: "#/components/schemas/Delivery"
                          next:
                            type: integer
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
          /api/v1/deliveries/{id}/retry:
            post:
              tags: [queries]
              operationId: retryDelivery
              summary: Send a failed or dead delivery again.
              x-tocsin-access: editor
              parameters:
                - name: id
                  in: path
                  required: true
                  schema:
                    type: string
              responses:
                "202":
                  description: Pending again.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [delivery]
                        properties:
                          delivery:
                            $ref: "#/components/schemas/Delivery"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "404":
                  $ref: "#/components/responses/Error"
                "409":
                  $ref: "#/components/responses/Error"
          /api/v1/route-preview:
            post:
              tags: [routing]
              operationId: routePreview
              summary: Where an event would go, without storing or sending anything.
              x-tocsin-access: viewer
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      oneOf:
                        - $ref: "#/components/schemas/EventInput"
                        - type: array
                          minItems: 1
                          maxItems: 1
                          items:
                            $ref: "#/components/schemas/EventInput"
              responses:
                "200":
                  description: The routing decision.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/RoutePreview"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
          /api/v1/catalogue:
            get:
              tags: [queries]
              operationId: getCatalogue
              summary: The known event types.
              x-tocsin-access: viewer
              responses:
                "200":
                  description: The catalogue.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [entries]
                        properties:
                          entries:
                            type: array
                            items:
                              type: object
                              required: [type, category, severity, defaultSeverity, kind, summary]
                              properties:
                                type:
                                  type: string
                                category:
                                  type: string
                                severity:
                                  $ref: "#/components/schemas/Severity"
                                defaultSeverity:
                                  $ref: "#/components/schemas/Severity"
                                kind:
                                  type: string
                                summary:
                                  type: string
                                description:
                                  type: string
                                source:
                                  type: string
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
          /api/v1/integrations:
            get:
              tags: [integrations]
              operationId: getIntegrations
              summary: The integrations, from tocsin.yml and from the console; secrets masked.
              x-tocsin-access: viewer
              responses:
                "200":
                  description: The integrations.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [integrations]
                        properties:
                          integrations:
                            type: array
                            items:
                              type: object
                              required: [name, type]
                              properties:
                                name:
                                  type: string
                                type:
                                  type: string
                                concurrency:
                                  type: integer
                                rateLimit:
                                  type: string
                                timeoutSeconds:
                                  type: number
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
            post:
              tags: [integrations]
              operationId: createIntegration
              summary: Create an integration (stored in the database; secrets encrypted).
              x-tocsin-access: editor
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      $ref: "#/components/schemas/IntegrationItem"
              responses:
                "201":
                  description: Created and in force.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/IntegrationAnswer"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "409":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
          /api/v1/integrations/{name}:
            get:
              tags: [integrations]
              operationId: getIntegration
              summary: One integration; secrets masked.
              x-tocsin-access: viewer
              parameters:
                - $ref: "#/components/parameters/IntegrationName"
              responses:
                "200":
                  description: The integration.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/IntegrationAnswer"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "404":
                  $ref: "#/components/responses/Error"
            put:
              tags: [integrations]
              operationId: updateIntegration
              summary: Replace a managed integration; a secret left out or sent masked keeps its stored value.
              x-tocsin-access: editor
              parameters:
                - $ref: "#/components/parameters/IntegrationName"
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      $ref: "#/components/schemas/IntegrationItem"
              responses:
                "200":
                  description: Replaced and in force.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/IntegrationAnswer"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "404":
                  $ref: "#/components/responses/Error"
                "409":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
            delete:
              tags: [integrations]
              operationId: deleteIntegration
              summary: Delete a managed integration and remove it from managed routing cells.
              x-tocsin-access: editor
              parameters:
                - $ref: "#/components/parameters/IntegrationName"
              responses:
                "204":
                  description: Deleted.
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "404":
                  $ref: "#/components/responses/Error"
                "409":
                  $ref: "#/components/responses/Error"
          /api/v1/integration-types:
            get:
              tags: [integrations]
              operationId: getIntegrationTypes
              summary: Every integration type with the fields its form shows.
              x-tocsin-access: viewer
              responses:
                "200":
                  description: The types.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [types]
                        properties:
                          types:
                            type: array
                            items:
                              type: object
                              required: [type, label, fields]
                              properties:
                                type:
                                  type: string
                                label:
                                  type: string
                                fields:
                                  type: array
                                  items:
                                    type: object
                                    required: [key, label, kind, required, help]
                                    properties:
                                      key:
                                        type: string
                                      label:
                                        type: string
                                      kind:
                                        type: string
                                      required:
                                        type: boolean
                                      options:
                                        type: array
                                        items:
                                          type: string
                                      help:
                                        type: string
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
          /api/v1/routing:
            get:
              tags: [routing]
              operationId: getRouting
              summary: The routing matrix in force, from tocsin.yml (read-only) and the console.
              x-tocsin-access: viewer
              responses:
                "200":
                  description: The matrix.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/RoutingAnswer"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
          /api/v1/routing/{scope}/{severity}:
            put:
              tags: [routing]
              operationId: setRoutingCell
              summary: Set a routing cell that tocsin.yml does not define.
              x-tocsin-access: editor
              parameters:
                - $ref: "#/components/parameters/RoutingScope"
                - $ref: "#/components/parameters/RoutingSeverity"
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [integrations]
                      properties:
                        integrations:
                          type: array
                          description: Names of integrations in force.
                          items:
                            type: string
                        override:
                          type: boolean
                      additionalProperties: false
              responses:
                "200":
                  description: Set and in force; the whole matrix.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/RoutingAnswer"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "409":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
            delete:
              tags: [routing]
              operationId: deleteRoutingCell
              summary: Remove a managed routing cell.
              x-tocsin-access: editor
              parameters:
                - $ref: "#/components/parameters/RoutingScope"
                - $ref: "#/components/parameters/RoutingSeverity"
              responses:
                "200":
                  description: Removed; the whole matrix.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/RoutingAnswer"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "404":
                  $ref: "#/components/responses/Error"
                "409":
                  $ref: "#/components/responses/Error"
          /api/v1/session:
            post:
              tags: [access]
              operationId: signIn
              summary: Sign in with a user's name and password, or with a token; sets the session cookie.
              x-tocsin-access: public
              security: []
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      oneOf:
                        - type: object
                          required: [name, password]
                          properties:
                            name:
                              type: string
                            password:
                              type: string
                          additionalProperties: false
                        - type: object
                          required: [token]
                          properties:
                            token:
                              type: string
                          additionalProperties: false
              responses:
                "200":
                  description: Signed in.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/SessionInfo"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
                "429":
                  description: Too many failed sign-ins for this name; Retry-After says when to try again.
                  headers:
                    Retry-After:
                      schema:
                        type: integer
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/Error"
            get:
              tags: [access]
              operationId: getSession
              summary: Who is calling, and the session's CSRF token.
              x-tocsin-access: viewer
              responses:
                "200":
                  description: The caller.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/SessionInfo"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
            delete:
              tags: [access]
              operationId: signOut
              summary: End the session.
              x-tocsin-access: viewer
              responses:
                "204":
                  description: Signed out.
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
          /api/v1/tokens:
            get:
              tags: [access]
              operationId: getTokens
              summary: API tokens (never the tokens themselves).
              x-tocsin-access: admin
              responses:
                "200":
                  description: The tokens.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [tokens]
                        properties:
                          tokens:
                            type: array
                            items:
                              $ref: "#/components/schemas/TokenInfo"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
            post:
              tags: [access]
              operationId: createToken
              summary: Make a token; the answer is the only time it is shown.
              x-tocsin-access: admin
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [name, role]
                      properties:
                        name:
                          type: string
                          description: What the token is for; 1 to 100 characters after trimming, no control characters.
                          minLength: 1
                        role:
                          $ref: "#/components/schemas/Role"
              responses:
                "201":
                  description: Made.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/TokenInfo"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "409":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
          /api/v1/tokens/{id}:
            delete:
              tags: [access]
              operationId: revokeToken
              summary: Revoke a token and end the sessions made with it.
              x-tocsin-access: admin
              parameters:
                - name: id
                  in: path
                  required: true
                  schema:
                    type: string
              responses:
                "204":
                  description: Revoked.
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "404":
                  $ref: "#/components/responses/Error"
          /api/v1/users:
            get:
              tags: [access]
              operationId: getUsers
              summary: Console users.
              x-tocsin-access: admin
              responses:
                "200":
                  description: The users.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [users]
                        properties:
                          users:
                            type: array
                            items:
                              $ref: "#/components/schemas/UserInfo"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
            post:
              tags: [access]
              operationId: createUser
              summary: Add a console user.
              x-tocsin-access: admin
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [name, password, role]
                      properties:
                        name:
                          $ref: "#/components/schemas/UserName"
                        password:
                          $ref: "#/components/schemas/Password"
                        role:
                          $ref: "#/components/schemas/UserRole"
              responses:
                "201":
                  description: Added.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/UserAnswer"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "409":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
          /api/v1/users/{name}:
            put:
              tags: [access]
              operationId: updateUser
              summary: Change a user's password or role.
              x-tocsin-access: admin
              parameters:
                - $ref: "#/components/parameters/UserName"
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      minProperties: 1
                      properties:
                        password:
                          $ref: "#/components/schemas/Password"
                        role:
                          $ref: "#/components/schemas/UserRole"
                      additionalProperties: false
              responses:
                "200":
                  description: Changed.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/UserAnswer"
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "404":
                  $ref: "#/components/responses/Error"
                "409":
                  $ref: "#/components/responses/Error"
                "413":
                  $ref: "#/components/responses/Error"
            delete:
              tags: [access]
              operationId: deleteUser
              summary: Remove a user and end their sessions; the last admin cannot be removed.
              x-tocsin-access: admin
              parameters:
                - $ref: "#/components/parameters/UserName"
              responses:
                "204":
                  description: Removed.
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "404":
                  $ref: "#/components/responses/Error"
                "409":
                  $ref: "#/components/responses/Error"
          /api/v1/audit:
            get:
              tags: [access]
              operationId: getAuditLog
              summary: Changes of configuration and access, newest first.
              x-tocsin-access: admin
              parameters:
                - name: limit
                  in: query
                  schema:
                    type: integer
                    minimum: 1
                    maximum: 1000
                - $ref: "#/components/parameters/Before"
              responses:
                "200":
                  description: A page of entries.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [entries]
                        properties:
                          entries:
                            type: array
                            items:
                              type: object
                              required: [sequence, at, actor, action, target, detail]
                              properties:
                                sequence:
                                  type: integer
                                at:
                                  type: string
                                  format: date-time
                                actor:
                                  type: string
                                action:
                                  type: string
                                target:
                                  type: string
                                detail:
                                  type: string
                          next:
                            type: integer
                "400":
                  $ref: "#/components/responses/Error"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
          /api/v1/integrations/{name}/test:
            post:
              tags: [integrations]
              operationId: testIntegration
              summary: Send a marked test message through one integration and report the service's answer.
              x-tocsin-access: editor
              parameters:
                - $ref: "#/components/parameters/IntegrationName"
              responses:
                "200":
                  description: The service accepted the message.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/TestAnswer"
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
                "404":
                  $ref: "#/components/responses/Error"
                "502":
                  description: The service refused the message or did not answer in time.
                  content:
                    application/json:
                      schema:
                        $ref: "#/components/schemas/TestAnswer"
          /api/v1/openapi.yaml:
            get:
              tags: [health]
              operationId: getOpenAPIDocument
              summary: This document.
              x-tocsin-access: public
              security: []
              responses:
                "200":
                  description: The OpenAPI document, YAML.
                  content:
                    application/yaml:
                      schema:
                        type: string
          /metrics:
            get:
              tags: [health]
              operationId: getMetrics
              summary: Prometheus metrics, text format.
              x-tocsin-access: viewer
              responses:
                "200":
                  description: The metrics.
                  content:
                    text/plain:
                      schema:
                        type: string
                "401":
                  $ref: "#/components/responses/Error"
                "403":
                  $ref: "#/components/responses/Error"
          /healthz:
            get:
              tags: [health]
              operationId: getHealth
              summary: Liveness.
              x-tocsin-access: public
              security: []
              responses:
                "200":
                  description: The server answers.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [status]
                        properties:
                          status:
                            type: string
                            enum: [ok]
          /readyz:
            get:
              tags: [health]
              operationId: getReadiness
              summary: Readiness; 503 while the database does not answer.
              x-tocsin-access: public
              security: []
              responses:
                "200":
                  description: Ready.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [status, store]
                        properties:
                          status:
                            type: string
                            enum: [ready]
                          store:
                            type: string
                          schemaVersion:
                            type: integer
                "503":
                  description: Not ready.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [status]
                        properties:
                          status:
                            type: string
                            enum: [not_ready]
                          store:
                            type: string
          /-/healthy:
            get:
              tags: [health]
              operationId: getHealthyText
              summary: Liveness at Alertmanager's path, plain text.
              x-tocsin-access: public
              security: []
              responses:
                "200":
                  description: OK.
                  content:
                    text/plain:
                      schema:
                        type: string
          /-/ready:
            get:
              tags: [health]
              operationId: getReadyText
              summary: Readiness at Alertmanager's path, plain text.
              x-tocsin-access: public
              security: []
              responses:
                "200":
                  description: OK.
                  content:
                    text/plain:
                      schema:
                        type: string
                "503":
                  description: The database does not answer.
                  content:
                    text/plain:
                      schema:
                        type: string
        components:
          securitySchemes:
            bearerToken:
              type: http
              scheme: bearer
              description: An API token (tocsin token create, or POST /api/v1/tokens).
            sessionCookie:
              type: apiKey
              in: cookie
              name: tocsin_session
              description: The console's session; requests other than GET must also send X-CSRF-Token.
          parameters:
            Limit:
              name: limit
              in: query
              schema:
                type: integer
                minimum: 1
                maximum: 10000
            Before:
              name: before
              in: query
              schema:
                type: integer
                minimum: 1
            IdempotencyKey:
              name: Idempotency-Key
              in: header
              schema:
                type: string
                minLength: 1
                maxLength: 200
                pattern: "^[A-Za-z0-9._:-]+$"
            SilenceID:
              name: id
              in: path
              required: true
              schema:
                type: string
            UserName:
              name: name
              in: path
              required: true
              schema:
                type: string
            RoutingScope:
              name: scope
              in: path
              required: true
              description: global, or a category.
              schema:
                type: string
                enum: [global, \#(categoryList)]
            RoutingSeverity:
              name: severity
              in: path
              required: true
              schema:
                $ref: "#/components/schemas/Severity"
            IntegrationName:
              name: name
              in: path
              required: true
              schema:
                type: string
          responses:
            Error:
              description: Refused; the body says why.
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/Error"
          schemas:
            Error:
              type: object
              required: [error]
              properties:
                error:
                  type: object
                  required: [status, reason, message]
                  properties:
                    status:
                      type: integer
                    reason:
                      type: string
                    message:
                      type: string
                    field:
                      type: string
            Severity:
              type: string
              enum: [info, warning, error, critical]
            Category:
              type: string
              enum: [\#(categoryList)]
            DeliveryStatus:
              type: string
              enum: [pending, delivered, failed, dead]
            Labels:
              type: object
              additionalProperties:
                type: string
            Link:
              type: object
              required: [href]
              properties:
                href:
                  type: string
                text:
                  type: string
            EventInput:
              type: object
              description: One event; docs/api.md gives every rule (which fields each kind needs, defaults, limits).
              properties:
                type:
                  type: string
                result:
                  type: string
                id:
                  type: string
                  minLength: 1
                  maxLength: 200
                  pattern: "^[A-Za-z0-9._:-]+$"
                kind:
                  type: string
                  enum: [alert, notification, log, metric]
                status:
                  type: string
                  enum: [firing, resolved]
                severity:
                  $ref: "#/components/schemas/Severity"
                category:
                  $ref: "#/components/schemas/Category"
                labels:
                  $ref: "#/components/schemas/Labels"
                key:
                  type: string
                  minLength: 1
                  maxLength: 512
                summary:
                  type: string
                description:
                  type: string
                details: {}
                links:
                  type: array
                  items:
                    oneOf:
                      - type: string
                      - $ref: "#/components/schemas/Link"
                startsAt:
                  type: string
                  format: date-time
                endsAt:
                  type: string
                  format: date-time
                message: {}
                timestamp: {}
                level:
                  type: string
                source:
                  type: string
                name:
                  type: string
                value: {}
              additionalProperties: false
            IngestAnswer:
              type: object
              required: [accepted]
              properties:
                accepted:
                  type: array
                  items:
                    type: object
                    required: [id, outcome, integrations]
                    properties:
                      id:
                        type: string
                      outcome:
                        type: string
                      integrations:
                        type: array
                        items:
                          type: string
                logs:
                  $ref: "#/components/schemas/RecordsAnswer"
                metrics:
                  $ref: "#/components/schemas/RecordsAnswer"
            RecordsAnswer:
              type: object
              required: [batch, duplicate, integrations, records]
              properties:
                batch:
                  type: string
                duplicate:
                  type: boolean
                integrations:
                  type: array
                  items:
                    type: string
                records:
                  type: integer
            LogRecordInput:
              type: object
              required: [message]
              properties:
                message: {}
                timestamp:
                  oneOf:
                    - type: string
                      format: date-time
                    - type: number
                level:
                  type: string
                source:
                  type: string
                labels:
                  $ref: "#/components/schemas/Labels"
                kind:
                  type: string
                  enum: [log]
              additionalProperties: false
            MetricSampleInput:
              type: object
              required: [name, value]
              properties:
                name:
                  type: string
                  minLength: 1
                  maxLength: 255
                value:
                  oneOf:
                    - type: number
                    - type: string
                      enum: [NaN, +Inf, -Inf]
                labels:
                  $ref: "#/components/schemas/Labels"
                timestamp:
                  oneOf:
                    - type: string
                      format: date-time
                    - type: number
                kind:
                  type: string
                  enum: [metric]
              additionalProperties: false
            AlertmanagerAlert:
              type: object
              required: [labels]
              properties:
                labels:
                  $ref: "#/components/schemas/Labels"
                annotations:
                  $ref: "#/components/schemas/Labels"
                startsAt:
                  type: string
                  format: date-time
                endsAt:
                  type: string
                  format: date-time
                generatorURL:
                  type: string
            StoredEvent:
              type: object
              required: [id, kind, severity, category, labels, summary, startsAt, receivedAt, source]
              properties:
                id:
                  type: string
                kind:
                  type: string
                status:
                  type: string
                severity:
                  $ref: "#/components/schemas/Severity"
                category:
                  type: string
                labels:
                  $ref: "#/components/schemas/Labels"
                summary:
                  type: string
                description:
                  type: string
                details: {}
                links:
                  type: array
                  items:
                    $ref: "#/components/schemas/Link"
                startsAt:
                  type: string
                  format: date-time
                endsAt:
                  type: string
                  format: date-time
                receivedAt:
                  type: string
                  format: date-time
                fingerprint:
                  type: string
                source:
                  type: string
            Alert:
              type: object
              required: [fingerprint, status, severity, category, labels, summary, startsAt, lastSeenAt, notifiedIntegrations]
              properties:
                fingerprint:
                  type: string
                status:
                  type: string
                severity:
                  $ref: "#/components/schemas/Severity"
                category:
                  type: string
                labels:
                  $ref: "#/components/schemas/Labels"
                summary:
                  type: string
                description:
                  type: string
                links:
                  type: array
                  items:
                    $ref: "#/components/schemas/Link"
                startsAt:
                  type: string
                  format: date-time
                lastSeenAt:
                  type: string
                  format: date-time
                expiresAt:
                  type: string
                  format: date-time
                resolvedAt:
                  type: string
                  format: date-time
                notifiedIntegrations:
                  type: array
                  items:
                    type: string
                notifiedSeverity:
                  $ref: "#/components/schemas/Severity"
                lastEventID:
                  type: string
                acknowledgedBy:
                  type: string
                acknowledgedAt:
                  type: string
                  format: date-time
            AcknowledgeInput:
              type: object
              properties:
                by:
                  type: string
                  minLength: 1
                  maxLength: 200
            Acknowledged:
              type: object
              required: [alerts, groups, forwardedTo, acknowledgedBy]
              properties:
                alerts:
                  type: array
                  items:
                    type: string
                groups:
                  type: array
                  items:
                    type: string
                forwardedTo:
                  type: array
                  items:
                    type: string
                acknowledgedBy:
                  type: string
            AlertGroup:
              type: object
              required: [id, integration, key, dedupKey, groupLabels, alerts, createdAt, notifications]
              properties:
                id:
                  type: string
                integration:
                  type: string
                key:
                  type: string
                dedupKey:
                  type: string
                groupLabels:
                  $ref: "#/components/schemas/Labels"
                alerts:
                  type: array
                  items:
                    type: object
                    required: [fingerprint, status, severity, labels, summary, notified, flapping]
                    properties:
                      fingerprint:
                        type: string
                      status:
                        type: string
                      severity:
                        $ref: "#/components/schemas/Severity"
                      labels:
                        $ref: "#/components/schemas/Labels"
                      summary:
                        type: string
                      notified:
                        type: boolean
                      flapping:
                        type: boolean
                      acknowledgedBy:
                        type: string
                      silencedBy:
                        type: array
                        items:
                          type: string
                      inhibitedBy:
                        type: string
                createdAt:
                  type: string
                  format: date-time
                nextLookAt:
                  type: string
                  format: date-time
                lastNotifiedAt:
                  type: string
                  format: date-time
                notifications:
                  type: integer
            SilenceInput:
              type: object
              required: [matchers, created_by, comment]
              properties:
                matchers:
                  type: array
                  minItems: 1
                  items:
                    type: string
                starts_at:
                  type: string
                  format: date-time
                ends_at:
                  type: string
                  format: date-time
                duration:
                  type: string
                schedule:
                  type: object
                  required: [cron, duration]
                  properties:
                    cron:
                      type: string
                    duration:
                      type: string
                created_by:
                  type: string
                  minLength: 1
                  maxLength: 200
                comment:
                  type: string
                  minLength: 1
                  maxLength: 2000
              additionalProperties: false
            Silence:
              type: object
              required: [id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at, state]
              properties:
                id:
                  type: string
                matchers:
                  type: array
                  items:
                    type: string
                starts_at:
                  type: string
                  format: date-time
                ends_at:
                  type: string
                  format: date-time
                schedule:
                  type: object
                  properties:
                    cron:
                      type: string
                    duration:
                      type: string
                created_by:
                  type: string
                comment:
                  type: string
                created_at:
                  type: string
                  format: date-time
                updated_at:
                  type: string
                  format: date-time
                state:
                  type: string
                  enum: [active, pending, expired]
            SilenceAnswer:
              type: object
              required: [silence]
              properties:
                silence:
                  $ref: "#/components/schemas/Silence"
            Delivery:
              type: object
              required: [id, notificationID, integration, orderKey, status, attempts, createdAt, ageStart, nextAttemptAt]
              properties:
                id:
                  type: string
                notificationID:
                  type: string
                integration:
                  type: string
                orderKey:
                  type: string
                status:
                  $ref: "#/components/schemas/DeliveryStatus"
                attempts:
                  type: integer
                createdAt:
                  type: string
                  format: date-time
                ageStart:
                  type: string
                  format: date-time
                nextAttemptAt:
                  type: string
                  format: date-time
                lastAttemptAt:
                  type: string
                  format: date-time
                lastStatusCode:
                  type: integer
                lastError:
                  type: string
                latencyMilliseconds:
                  type: number
                deliveredAt:
                  type: string
                  format: date-time
                lease:
                  type: object
                  required: [owner, token, expiresAt]
                  properties:
                    owner:
                      type: string
                    token:
                      type: integer
                    expiresAt:
                      type: string
                      format: date-time
            RoutePreview:
              type: object
              required: [kind, category, severity, integrations, targets, unrouted]
              properties:
                kind:
                  type: string
                category:
                  type: string
                severity:
                  $ref: "#/components/schemas/Severity"
                integrations:
                  type: array
                  items:
                    type: string
                targets:
                  type: array
                  items:
                    type: object
                    required: [integration, cell]
                    properties:
                      integration:
                        type: string
                      cell:
                        type: string
                unrouted:
                  type: boolean
                note:
                  type: string
            TestAnswer:
              type: object
              required: [test]
              properties:
                test:
                  type: object
                  required: [integration, type, outcome]
                  properties:
                    integration:
                      type: string
                    type:
                      type: string
                    outcome:
                      type: string
                      enum: [delivered, retryable, permanent]
                    statusCode:
                      type: integer
                    retryAfterSeconds:
                      type: number
                    detail:
                      type: string
                    latencyMs:
                      type: number
                    messageID:
                      type: string
            Role:
              type: string
              enum: [ingest, viewer, editor, admin]
            UserRole:
              description: A user's role; ingest is for tokens only.
              type: string
              enum: [viewer, editor, admin]
            UserName:
              type: string
              pattern: "^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
            Password:
              type: string
              minLength: 12
              maxLength: 1024
            SessionInfo:
              type: object
              required: [subject, authenticationRequired]
              properties:
                subject:
                  type: string
                role:
                  $ref: "#/components/schemas/Role"
                csrfToken:
                  type: string
                expiresAt:
                  type: string
                  format: date-time
                authenticationRequired:
                  type: boolean
            TokenInfo:
              type: object
              required: [id, name, role, createdAt, createdBy]
              properties:
                id:
                  type: string
                name:
                  type: string
                role:
                  $ref: "#/components/schemas/Role"
                createdAt:
                  type: string
                  format: date-time
                createdBy:
                  type: string
                token:
                  type: string
            UserInfo:
              type: object
              required: [name, role, createdAt]
              properties:
                name:
                  type: string
                role:
                  $ref: "#/components/schemas/Role"
                createdAt:
                  type: string
                  format: date-time
            UserAnswer:
              type: object
              required: [user]
              properties:
                user:
                  $ref: "#/components/schemas/UserInfo"
            IntegrationItem:
              type: object
              description: The mapping a tocsin.yml integration item has (name, type, the type's settings, delivery options).
              required: [name, type]
              properties:
                name:
                  type: string
                type:
                  type: string
              additionalProperties: true
            Integration:
              type: object
              required: [name, type, source, editable, concurrency, timeoutSeconds, settings]
              properties:
                name:
                  type: string
                type:
                  type: string
                source:
                  type: string
                  enum: [file, managed]
                editable:
                  type: boolean
                concurrency:
                  type: integer
                rateLimit:
                  type: string
                timeoutSeconds:
                  type: number
                settings:
                  type: object
                item:
                  type: object
                updatedAt:
                  type: string
                  format: date-time
                updatedBy:
                  type: string
                problem:
                  type: string
            IntegrationAnswer:
              type: object
              required: [integration]
              properties:
                integration:
                  $ref: "#/components/schemas/Integration"
            RoutingAnswer:
              type: object
              required: [routing]
              properties:
                routing:
                  type: object
                  required: [rows, defaultRoute, integrations]
                  properties:
                    rows:
                      type: array
                      items:
                        type: object
                        required: [scope, cells]
                        properties:
                          scope:
                            type: string
                          cells:
                            type: array
                            items:
                              type: object
                              required: [severity, integrations, override, editable]
                              properties:
                                severity:
                                  $ref: "#/components/schemas/Severity"
                                integrations:
                                  type: array
                                  items:
                                    type: string
                                override:
                                  type: boolean
                                source:
                                  type: string
                                  enum: [file, managed]
                                editable:
                                  type: boolean
                    defaultRoute:
                      type: array
                      items:
                        type: string
                    integrations:
                      type: array
                      items:
                        type: string
        """#
}
