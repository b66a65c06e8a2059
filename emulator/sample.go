package emulator

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/PaulSonOfLars/gotgbot/v2"
)

// UpdateTypes names every update type gotgbot's Update has, as allowed_updates spells them.
func UpdateTypes() []string {
	var names []string
	t := reflect.TypeFor[gotgbot.Update]()
	for i := range t.NumField() {
		if f := t.Field(i); f.Type.Kind() == reflect.Pointer {
			names = append(names, jsonName(f))
		}
	}
	return names
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// Sample returns an update of the type named (as allowed_updates spells it) with every
// field set: strings "x", numbers counted from 1 (so every user and chat has an id of its
// own), nested values two levels deep, and the interfaces gotgbot's types hold given a
// concrete type. It is for testing that a bot copes with every type, whatever it holds;
// push it with PushUpdate.
func Sample(name string) (gotgbot.Update, error) {
	var u gotgbot.Update
	v := reflect.ValueOf(&u).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Type.Kind() == reflect.Pointer && jsonName(f) == name {
			var next int64
			v.Field(i).Set(fill(f.Type, 0, &next))
			return u, nil
		}
	}
	return u, fmt.Errorf("emulator: no update type %q", name)
}

// concrete gives each interface in gotgbot's types a value, so that a sample decodes again
// (gotgbot refuses a null where it expects one of an interface's types).
var concrete = map[reflect.Type]any{
	reflect.TypeFor[gotgbot.MaybeInaccessibleMessage](): gotgbot.Message{MessageId: 1, Chat: gotgbot.Chat{Id: 1, Type: "private"}},
	reflect.TypeFor[gotgbot.ChatBoostSource]():          gotgbot.ChatBoostSourcePremium{User: gotgbot.User{Id: 1, FirstName: "x"}},
	reflect.TypeFor[gotgbot.ChatMember]():               gotgbot.ChatMemberMember{User: gotgbot.User{Id: 1, FirstName: "x"}},
	reflect.TypeFor[gotgbot.MessageOrigin]():            gotgbot.MessageOriginUser{Date: 1, SenderUser: gotgbot.User{Id: 1, FirstName: "x"}},
	reflect.TypeFor[gotgbot.BackgroundType]():           gotgbot.BackgroundTypeChatTheme{ThemeName: "x"},
	reflect.TypeFor[gotgbot.ReactionType]():             gotgbot.ReactionTypeEmoji{Emoji: "👍"},
	reflect.TypeFor[gotgbot.PaidMedia]():                gotgbot.PaidMediaPreview{},
	reflect.TypeFor[gotgbot.RichBlock]():                gotgbot.RichBlockDivider{},
}

func fill(t reflect.Type, depth int, next *int64) reflect.Value {
	v := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.Pointer:
		if depth > 2 {
			return v
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(fill(t.Elem(), depth+1, next))
		return p
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				v.Field(i).Set(fill(t.Field(i).Type, depth, next))
			}
		}
	case reflect.Interface:
		if c, ok := concrete[t]; ok {
			v.Set(reflect.ValueOf(c))
		}
	case reflect.Int64:
		*next++
		v.SetInt(*next)
	case reflect.String:
		v.SetString("x")
	}
	return v
}
