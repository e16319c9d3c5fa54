// Command broken does not compile: the rie tests check that Build reports the compiler's words.
package main

func main() {
	undefinedOnPurpose()
}
