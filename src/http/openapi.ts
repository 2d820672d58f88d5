/**
 * The JSON API's description (OpenAPI 3.1), served at /openapi.json. test/http.api.test.ts
 * validates it and calls every route it lists.
 */
const id = { type: "string", format: "uuid" } as const;
const error = {
  description: "An error: what was wrong (message), the SQLSTATE or HTTP reason (code), and how to fix it (hint).",
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
};
const errors = { "400": error, "401": error, "403": error, "404": error, "409": error, "503": error };
const userPath = [{ name: "user", in: "path", required: true, schema: id }];
const videoPath = [{ name: "video", in: "path", required: true, schema: id }];
const json = (ref: string) => ({ content: { "application/json": { schema: { $ref: `#/components/schemas/${ref}` } } } });

export const OPENAPI = {
  openapi: "3.1.0",
  info: {
    title: "pg-upload-scheduler",
    version: "0.2.0",
    description:
      "The upload scheduler's JSON API: the same SQL functions as psql and the dashboard. It is on only when the worker has " +
      "DASHBOARD_TOKEN; every request then sends it as a bearer token (Authorization: Bearer <token>) and names the user " +
      "whose schedule and videos it acts on in its path.",
  },
  servers: [{ url: "/" }],
  security: [{ bearer: [] }],
  paths: {
    "/api/health": {
      get: { operationId: "health", summary: "How the scheduler is doing (upload_scheduler.health)", responses: { "200": { description: "One row of health", ...json("Health") }, ...errors } },
    },
    "/api/users/{user}/schedule": {
      parameters: userPath,
      get: { operationId: "getSchedule", summary: "The week and the limits (get_schedule(user, true))", responses: { "200": { description: "The week", ...json("Week") }, ...errors } },
      put: {
        operationId: "setSchedule", summary: "Replaces the week and/or the limits, all or nothing (set_schedule)",
        requestBody: { required: true, ...json("Week") },
        responses: { "200": { description: "The week as it is now", ...json("Week") }, ...errors },
      },
    },
    "/api/users/{user}/queue": {
      parameters: userPath,
      get: {
        operationId: "getQueue", summary: "The waiting videos in order, with the tick expected to claim each (upcoming_uploads)",
        responses: { "200": { description: "The forecast", content: { "application/json": { schema: { type: "array", items: { $ref: "#/components/schemas/Forecast" } } } } }, ...errors },
      },
    },
    "/api/users/{user}/videos": {
      parameters: userPath,
      get: {
        operationId: "listVideos", summary: "The user's videos, newest first",
        parameters: [
          { name: "status", in: "query", schema: { type: "string", enum: ["initiate", "pending", "uploading", "success", "failed"] } },
          { name: "search", in: "query", description: "Part of the title, any case", schema: { type: "string" } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500, default: 50 } },
          { name: "offset", in: "query", schema: { type: "integer", minimum: 0, default: 0 } },
        ],
        responses: {
          "200": {
            description: "A page of videos",
            content: { "application/json": { schema: { type: "object", required: ["total", "videos"], properties: { total: { type: "integer" }, videos: { type: "array", items: { $ref: "#/components/schemas/Video" } } } } } },
          },
          ...errors,
        },
      },
      post: {
        operationId: "addVideo", summary: "Queues a video (initiate)",
        requestBody: {
          required: true,
          content: { "application/json": { schema: { type: "object", additionalProperties: false, properties: { title: { type: ["string", "null"] }, source_path: { type: ["string", "null"] }, not_before: { type: ["string", "null"], format: "date-time" } } } } },
        },
        responses: { "201": { description: "The video", ...json("Video") }, ...errors },
      },
    },
    "/api/users/{user}/pause": {
      parameters: userPath,
      post: {
        operationId: "pauseUploads", summary: "Nothing of the user is claimed until `until` (default: until resumed) (pause_uploads)",
        requestBody: { content: { "application/json": { schema: { type: "object", properties: { until: { type: "string", format: "date-time" }, reason: { type: "string" } } } } } },
        responses: { "200": { description: "The pause", ...json("Pause") }, ...errors },
      },
    },
    "/api/users/{user}/resume": {
      parameters: userPath,
      post: { operationId: "resumeUploads", summary: "Ends the pause (resume_uploads)", responses: { "200": { description: "The pause, ended", ...json("Pause") }, ...errors } },
    },
    "/api/videos/{video}": {
      parameters: videoPath,
      get: { operationId: "getVideo", summary: "One video as it is now", responses: { "200": { description: "The video", ...json("Video") }, ...errors } },
    },
    "/api/videos/{video}/retry": {
      parameters: videoPath,
      post: { operationId: "retryVideo", summary: "failed -> initiate now (retry_video)", responses: { "200": { description: "The video", ...json("Video") }, ...errors } },
    },
    "/api/videos/{video}/cancel": {
      parameters: videoPath,
      post: {
        operationId: "cancelVideo", summary: "Withdraws a waiting video, its reason on record (withdraw_video)",
        requestBody: { content: { "application/json": { schema: { type: "object", properties: { reason: { type: "string" } } } } } },
        responses: { "200": { description: "The video", ...json("Video") }, ...errors },
      },
    },
    "/api/videos/{video}/front": {
      parameters: videoPath,
      post: { operationId: "moveToFront", summary: "The head of its user's queue: the next claim takes it (move_to_front)", responses: { "200": { description: "The video", ...json("Video") }, ...errors } },
    },
  },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "The worker's DASHBOARD_TOKEN" } },
    schemas: {
      Error: {
        type: "object", required: ["error"],
        properties: { error: { type: "object", required: ["message"], properties: { message: { type: "string" }, code: { type: "string" }, hint: { type: "string" } } } },
      },
      Week: {
        type: "object",
        properties: {
          slots: { type: "array", items: { type: "object", required: ["day", "start_time", "end_time"], properties: { day: { type: "string" }, start_time: { type: "string" }, end_time: { type: "string" }, max_uploads: { type: "integer" }, slot_name: { type: ["string", "null"] }, is_active: { type: "boolean" }, min_interval: { type: ["string", "null"] }, user_id: id } } },
          limits: { type: "array", items: { type: "object", required: ["max_uploads", "per"], properties: { max_uploads: { type: "integer" }, per: { type: "string" }, time_zone: { type: ["string", "null"] }, note: { type: ["string", "null"] } } } },
        },
      },
      Forecast: {
        type: "object",
        properties: { video_id: id, queue_position: { type: "integer" }, slot_id: { type: ["string", "null"] }, slot_name: { type: ["string", "null"] }, local_date: { type: ["string", "null"] }, expected_at: { type: ["string", "null"], format: "date-time" } },
      },
      Video: {
        type: "object", required: ["id", "user_id", "status"],
        properties: {
          id, user_id: id, title: { type: ["string", "null"] }, status: { type: "string", enum: ["initiate", "pending", "uploading", "success", "failed"] },
          attempts: { type: "integer" }, created_at: { type: ["string", "null"] }, claimed_at: { type: ["string", "null"] }, started_at: { type: ["string", "null"] },
          finished_at: { type: ["string", "null"] }, last_outcome: { type: ["string", "null"] }, last_error: { type: ["string", "null"] },
          remote_id: { type: ["string", "null"] }, remote_url: { type: ["string", "null"] }, bytes_sent: { type: ["integer", "null"] }, bytes_total: { type: ["integer", "null"] },
          not_before: { type: ["string", "null"] }, queue_priority: { type: "integer" },
        },
      },
      Pause: { type: "object", properties: { user_id: id, paused_until: { type: ["string", "null"] }, pause_reason: { type: ["string", "null"] } } },
      Health: {
        type: "object",
        properties: {
          last_tick_at: { type: ["string", "null"] }, last_tick_age_ms: { type: ["number", "null"] }, waiting: { type: "integer" }, pending: { type: "integer" },
          uploading: { type: "integer" }, failed_retryable: { type: "integer" }, failed_for_good: { type: "integer" }, overdue_uploads: { type: "integer" },
          users_paused: { type: "integer" }, users_held: { type: "integer" }, users_limited: { type: "integer" },
        },
      },
    },
  },
} as const;
