// Package ocr reads the text inside images with Tesseract.
//
// Traders put prices, code words and contact ids (a WeChat id after 加V)
// into their photos, where text filters do not look. The recognised text
// joins the text pipeline as the listing's image_text field.
//
// Tesseract runs as an external command (Debian packages tesseract-ocr,
// tesseract-ocr-chi-sim, tesseract-ocr-chi-tra, tesseract-ocr-eng), so the
// default build stays pure Go. Each image gets its own process with a
// timeout, and a semaphore bounds how many run at once. When the binary is
// missing, Engine.Available is false and the caller logs Engine.Status once
// and runs without OCR.
package ocr
