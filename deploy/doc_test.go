// Package deploy holds no code: its tests read the Dockerfile and
// docker-compose.yml and hold them to the app's settings and routes.
package deploy
