SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id = ? AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? 
WHERE neuron.model_id = ? AND neuron.site = ? AND NOT (EXISTS (SELECT lb.id 
FROM note AS lb 
WHERE lb.neuron_id = neuron.id AND lb.label = ?)) AND atlas_value(s0.vals, neuron.unit % ?) > ? GROUP BY model.name, neuron.layer ORDER BY model.name, neuron.layer
-- parameters: {'set_id_1': 227, 'unit_1': 256, 'model_id_1': 3, 'site_1': 'mlp', 'param_1': 'negation detector', 'unit_2': 256, 'param_2': 0.5}
-- and the neurons per group:
SELECT model.name AS model, lay.layer AS layer, CAST(sum(lay.width) AS INTEGER) AS n_neurons 
FROM (SELECT layer.model_id AS model_id, layer."index" AS layer, layer.site AS site, layer.width AS width 
FROM layer) AS lay JOIN model ON model.id = lay.model_id 
WHERE lay.model_id = ? AND lay.site = ? GROUP BY model.name, lay.layer ORDER BY model.name, lay.layer
-- parameters: {'model_id_1': 3, 'site_1': 'mlp'}
-- score sets read:
-- ap(noun) of minilm: run 5, method row 4 {}
