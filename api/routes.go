package api

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// routes is the whole HTTP surface of the app, on one screen.
func (s *server) routes() {
	e := s.echo
	e.Use(
		middleware.RequestID(),
		s.logRequests(),
		s.recoverPanics(),
		securityHeaders,
	)

	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	e.GET("/openapi.yaml", s.handleSpecYAML)
	e.GET("/openapi.json", s.handleSpecJSON)

	api := e.Group("/api",
		middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{Timeout: s.RequestTimeout}),
		middleware.BodyLimit(bodyLimit),
		s.authenticate,
		s.rateLimit(),
		s.validateRequest,
	)
	api.GET("/events", s.handleListEvents)
	api.POST("/events", s.handleCreateEvent)
	api.GET("/events/:id", s.handleGetEvent)
	api.PATCH("/events/:id", s.handleUpdateEvent)
	api.DELETE("/events/:id", s.handleDeleteEvent)

	e.GET("/ws", s.handleWebSocket, s.authenticate)

	if s.IdP != nil {
		e.Any("/oidc/*", echo.WrapHandler(s.IdP))
	}
	if s.Web != nil {
		e.Any("/*", echo.WrapHandler(s.Web))
	}
}
